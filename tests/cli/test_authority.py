"""`tsunagu authority ...` through click's CliRunner."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import uvicorn
from click.testing import CliRunner, Result

from connector.cli.authority import authority_group
from connector.clock import ManualClock
from connector.identity.authority import Authority
from tests.identity.support import unverified_claims

SUBJECT = "did:web:localhost%3A8101"


def run(clock: ManualClock, *args: str) -> Result:
    return CliRunner().invoke(authority_group, list(args), obj={"clock": clock})


@pytest.fixture
def directory(tmp_path: Path, clock: ManualClock) -> Path:
    result = run(clock, "init", str(tmp_path / "auth"), "--name", "Basin Council", "--port", "8200")
    assert result.exit_code == 0, result.output
    assert "did:web:localhost%3A8200" in result.output
    return tmp_path / "auth"


def issue(clock: ManualClock, directory: Path, *extra: str) -> Result:
    return run(
        clock,
        "issue",
        str(directory),
        "--subject",
        SUBJECT,
        "--legal-name",
        "A市",
        "--role",
        "municipality",
        *extra,
    )


@pytest.mark.parametrize("command", [[], ["init"], ["issue"], ["revoke"], ["serve"], ["list"]])
def test_help_texts(command: list[str]) -> None:
    result = CliRunner().invoke(authority_group, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output
    assert len(result.output.splitlines()) > 4


def test_issue_prints_a_credential(clock: ManualClock, directory: Path) -> None:
    result = issue(
        clock,
        directory,
        "--municipality-code",
        "13101",
        "--membership",
        "urn:x:basin",
        "--membership",
        "Kiso",
    )
    assert result.exit_code == 0, result.output
    claims = unverified_claims(result.output.strip())
    subject = claims["credentialSubject"]
    assert (subject["id"], subject["legalName"], subject["role"]) == (
        SUBJECT,
        "A市",
        "municipality",
    )
    assert subject["memberOf"] == ["urn:x:basin", "Kiso"]
    assert subject["municipalityCode"] == "131016"
    assert claims["validUntil"] == "2027-04-01T09:00:00Z"


def test_issue_writes_to_a_file(clock: ManualClock, directory: Path, tmp_path: Path) -> None:
    target = tmp_path / "credential.jwt"
    result = issue(clock, directory, "--output", str(target), "--valid-days", "30")
    assert result.exit_code == 0, result.output
    assert unverified_claims(target.read_text().strip())["validUntil"] == "2026-05-01T09:00:00Z"


def test_issue_reports_bad_input_without_a_traceback(clock: ManualClock, directory: Path) -> None:
    result = issue(clock, directory, "--municipality-code", "131017")
    assert result.exit_code == 1
    assert result.output.startswith("Error:") and "check digit" in result.output


def test_list_and_revoke(clock: ManualClock, directory: Path) -> None:
    index = unverified_claims(issue(clock, directory).output.strip())["credentialStatus"][
        "statusListIndex"
    ]
    listing = run(clock, "list", str(directory))
    assert SUBJECT in listing.output and "valid until" in listing.output

    result = run(clock, "revoke", str(directory), "--subject", SUBJECT)
    assert result.exit_code == 0 and f"revoked status index {index}" in result.output
    again = run(clock, "revoke", str(directory), "--index", index)
    assert again.exit_code == 0 and "nothing changed" in again.output
    assert "revoked 2026-04-01T09:00:00Z" in run(clock, "list", str(directory)).output


def test_revoke_needs_exactly_one_selector(clock: ManualClock, directory: Path) -> None:
    assert run(clock, "revoke", str(directory)).exit_code == 2
    assert run(clock, "revoke", str(directory), "--subject", SUBJECT, "--index", "1").exit_code == 2


def test_revoke_of_an_unknown_subject_fails(clock: ManualClock, directory: Path) -> None:
    result = run(clock, "revoke", str(directory), "--subject", SUBJECT)
    assert result.exit_code == 1 and "no credential" in result.output


def test_commands_on_a_missing_authority_fail_cleanly(clock: ManualClock, tmp_path: Path) -> None:
    result = run(clock, "list", str(tmp_path / "nothing"))
    assert result.exit_code == 1 and "authority init" in result.output


def test_serve_runs_uvicorn_on_loopback(
    clock: ManualClock, directory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append({"app": app, **kw}))
    result = run(clock, "serve", str(directory), "--dev")
    assert result.exit_code == 0, result.output
    [call] = calls
    assert (call["host"], call["port"]) == ("127.0.0.1", 8200)
    assert call["app"].title.startswith("Basin Council")


def test_serve_refuses_plain_http_without_dev(
    clock: ManualClock, directory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: pytest.fail("must not serve"))
    result = run(clock, "serve", str(directory))
    assert result.exit_code == 1 and "--dev" in result.output


def test_revocation_is_visible_to_a_loaded_authority(clock: ManualClock, directory: Path) -> None:
    issue(clock, directory)
    served = Authority.load(directory)
    run(clock, "revoke", str(directory), "--subject", SUBJECT)
    assert served.issued()[0].revoked_at is not None
