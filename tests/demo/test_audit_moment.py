"""The demo's audit moment (issue 10): a clean verification of A市, B町 and C村, then the
entry altered in B町's database named, with how it was caught."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from connector.cli import main


@pytest.fixture(autouse=True)
def _embedded_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TSUNAGU_DATABASE_URL", raising=False)  # the demo runs on SQLite


def test_the_auditor_finds_the_logs_clean_then_names_the_altered_entry() -> None:
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    out = result.output
    first, _, second = out.partition("someone edits one stored entry in B町's database")
    for name in ("A市", "B町", "C村"):
        assert re.search(rf"^ +{name}: \d+ entries, .*: clean$", first, re.MULTILINE), first
    # who sent what to whom, under which agreement, from the logs
    assert re.search(r"A市 -> C村: urn:tsunagu:dataset:202151:\S+ under urn:uuid:", first)
    assert re.search(r"B町 -> C村: urn:tsunagu:dataset:203831:\S+ under urn:uuid:", first)
    altered = re.search(r"B町's entry (\d+): 'STARTED' rewritten", second)
    assert altered, second
    seq = altered[1]
    assert re.search(rf"entry_altered +entry {seq}: ", second)
    assert re.search(rf"receipt_mismatch +entry {seq}: .*differs from the receipt", second)
    for name in ("A市", "C村"):  # the others stay clean
        assert re.search(rf"^ +{name}: \d+ entries, .*: clean$", second, re.MULTILINE)
