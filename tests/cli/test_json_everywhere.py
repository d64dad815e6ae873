"""`--json` on every command: the whole command tree has the option, and commands that run
without a connector (participants, keys, backups, the authority, the vocabulary, policies,
conversion) print one JSON document on standard output with it, and their usual words
without it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from connector.cli import main
from connector.serving import free_port

ROOT = Path(__file__).parent.parent.parent


def leaves(group: click.Group = main, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from leaves(command, (*path, name))
        else:
            yield (*path, name)


def command_of(path: tuple[str, ...]) -> click.Command:
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


def test_every_leaf_command_has_a_json_option() -> None:
    paths = list(leaves())
    assert len(paths) > 60  # the walk reaches the sub-groups (catalog, consent portal, ...)
    for path in paths:
        options = [p for p in command_of(path).params if isinstance(p, click.Option)]
        [json_option] = [o for o in options if "--json" in o.opts]
        assert json_option.is_flag, path


def as_json(*args: str | Path) -> Any:
    result = CliRunner().invoke(main, [*(str(a) for a in args), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def words(*args: str | Path) -> str:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    with pytest.raises(json.JSONDecodeError):
        json.loads(result.stdout)
    return result.stdout


@pytest.fixture
def authority(tmp_path: Path) -> tuple[Path, str]:
    directory = tmp_path / "auth"
    created = as_json("authority", "init", directory, "--name", "Basin", "--port", free_port())
    assert created["directory"] == str(directory)
    return directory, created["did"]


def test_authority_commands(authority: tuple[Path, str], tmp_path: Path) -> None:
    directory, did = authority
    assert did.startswith("did:web:localhost")
    subject = "did:web:localhost%3A9"
    issue = ["authority", "issue", directory, "--subject", subject, "--legal-name", "A市"]
    issue += ["--role", "municipality"]
    printed = as_json(*issue)
    assert printed["subject"] == subject and printed["credential"].count(".") == 2
    written = as_json(*issue, "--output", tmp_path / "a.jwt")
    assert written == {"subject": subject, "output": str(tmp_path / "a.jwt")}
    issued = as_json("authority", "list", directory)
    assert [i["subject"] for i in issued] == [subject, subject]
    assert [p["did"] for p in as_json("authority", "participants", directory)] == [subject]
    assert as_json("authority", "participants", directory, "--signed")["jws"].count(".") == 2
    indexes = sorted(i["status_index"] for i in issued)
    revoked = as_json("authority", "revoke", directory, "--subject", subject)["revoked"]
    assert sorted(revoked) == indexes
    again = ["authority", "revoke", directory, "--index", str(indexes[0])]
    assert as_json(*again) == {"revoked": []}
    assert "already revoked" in words(*again)


def test_participant_keys_backup_and_restore(tmp_path: Path) -> None:
    a = tmp_path / "a"
    created = as_json("init", a, "--name", "A市", "--port", free_port(), "--dev")
    assert created["directory"] == str(a) and created["did"].startswith("did:web:")
    [key] = as_json("keys", "list", a)
    assert key["state"] == "active" and key["kid"].startswith(created["did"])
    rotated = as_json("keys", "rotate", a)
    assert rotated["retired"] == key["kid"] and rotated["active"] != key["kid"]
    listed = as_json("keys", "list", a)
    assert [k["kid"] for k in listed] == [rotated["active"], key["kid"]]
    assert words("keys", "list", a).splitlines()[0].split() == ["key", "id", "state"]

    archive = tmp_path / "a.tar.gz"
    backed = as_json("backup", a, "-o", archive)
    assert backed["output"] == str(archive) and backed["database"] == "sqlite"
    assert backed["files"] > 0 and archive.is_file()
    restored = as_json("restore", archive, tmp_path / "a2")
    assert restored["directory"] == str(tmp_path / "a2") and restored["files"] == backed["files"]
    assert as_json("keys", "list", tmp_path / "a2") == listed


def test_vocabulary_commands(tmp_path: Path) -> None:
    summary = as_json("vocab", "show")
    assert summary["namespace"] == "https://w3id.org/tsunagu/vocab/"
    assert summary["version"] in summary["releases"] or summary["releases"]
    assert all(s["terms"] > 0 for s in summary["concept_schemes"])
    assert "concept schemes:" in words("vocab", "show")
    term = as_json("vocab", "show", "threshold:flood-caution")
    assert "threshold:flood-caution" in json.dumps(term)
    assert isinstance(as_json("vocab", "diff", summary["releases"][0], "current"), dict)

    stations = ROOT / "examples/vocab/a-city-stations.ttl"
    checked = as_json("vocab", "validate", stations)
    assert checked["ok"] is True and checked["triples"] > 0 and checked["violations"] == []
    bad = tmp_path / "bad.ttl"
    bad.write_text(
        "@prefix tsu: <https://w3id.org/tsunagu/vocab/> .\n<urn:x:s> a tsu:Station .\n",
        encoding="utf-8",
    )
    failed = CliRunner().invoke(main, ["vocab", "validate", str(bad), "--json"])
    assert failed.exit_code == 1
    report = json.loads(failed.stdout)
    assert report["ok"] is False and report["violations"][0]["focus"] == "urn:x:s"
    terms = as_json("vocab", "validate", "--extension", ROOT / "examples/vocab/a-city-terms.ttl")
    assert terms["ok"] is True


def test_policy_and_convert(tmp_path: Path) -> None:
    policy = tmp_path / "open.json"
    assert as_json("policy", "template", "open-data", "--output", policy) == {"output": str(policy)}
    assert isinstance(as_json("policy", "check", policy), dict)
    out = tmp_path / "shared.csv"
    source = ROOT / "examples/vocab/a-city-readings.csv"
    mapping = ROOT / "examples/vocab/a-city.toml"
    report = as_json("convert", source, "-m", mapping, "-o", out)
    assert report["converted"] > 0 and report["rejected"] == 0 and out.stat().st_size > 0
    bulk = as_json("convert", source, "-m", mapping, "-o", out, "--sample", "2")
    assert bulk["rows"] == report["rows"]
