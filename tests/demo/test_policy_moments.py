"""`tsunagu demo`'s policy moments (issue 9), read off the demo's output: marketing refused
with the reason, disaster response agreed, B町's alert-only offer refused before and agreed
during the alert its own gauge raises, the company's fourth read refused."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from connector.cli import main


@pytest.fixture(autouse=True)
def _embedded_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TSUNAGU_DATABASE_URL", raising=False)


def test_the_demo_shows_each_policy_moment_with_its_reason() -> None:
    result = CliRunner().invoke(main, ["demo"])
    out = result.output
    assert result.exit_code == 0, out
    marketing = out.split("for marketing: refused", 1)[1]
    assert re.search(
        r"reason: .*purpose isA https://w3id.org/tsunagu/vocab/purpose/disaster", marketing
    )
    assert "asks for disaster response instead: agreed" in out
    assert "prohibited: distribute" in out
    before = out.split("before the alert: refused", 1)[1].split("\n[", 1)[0]
    assert "event eq flood alert level 2+" in before and "fails" in before
    assert "中流大橋" in out.split("classifies its latest readings", 1)[1].split("\n[", 1)[0]
    assert "asks again during the alert: agreed" in out
    assert "reads 1-3: 200; read 4: 403 access_limit_reached" in out
