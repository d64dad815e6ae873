"""The README's main job: `tsunagu demo` succeeds and says what it did."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from connector.cli import main


@pytest.fixture(autouse=True)
def _embedded_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TSUNAGU_DATABASE_URL", raising=False)  # the demo runs on SQLite


def test_demo_runs_the_basin_story_and_exits_zero() -> None:
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    out = result.output
    for name in ("A市", "B町", "C村"):
        assert name in out
    assert out.count("negotiates 'disaster response by basin municipalities'") == 2
    assert out.count("starts a pull transfer") == 2
    assert "failed" not in out and "every step succeeded" in out
    assert "TSUNAGU_DATABASE_URL" not in os.environ
