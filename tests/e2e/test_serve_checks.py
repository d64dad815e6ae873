"""Loud misconfiguration and private files: `init` and `serve` refuse what cannot work, say
how to fix it in one line, and keep a participant's secrets its owner's alone."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connector.identity.authority import Authority
from connector.serving import free_port
from connector.settings import load_settings

TSUNAGU = str(Path(sys.executable).with_name("tsunagu"))


def tsunagu(*args: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TSUNAGU_DATABASE_URL"}
    return subprocess.run(
        [TSUNAGU, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=env
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    return Authority.init(tmp_path / "auth", name="council", port=free_port())


def participant(tmp_path: Path, name: str, authority: Authority, *, dev: bool) -> Path:
    directory = tmp_path / name
    args = ["init", directory, "--name", name, "--port", free_port(), "--trust", authority.did]
    result = tsunagu(*args, *(["--dev"] if dev else []))
    assert result.returncode == 0, result.stderr
    return directory


def issue(authority: Authority, subject: str, output: Path) -> None:
    token = authority.issue(
        subject=subject,
        legal_name="x",
        role="municipality",
        municipality_code=None,
        memberships=[],
        valid_days=30,
        now=datetime.now(UTC),
    )
    output.write_text(token)
    output.chmod(0o600)


def one_line_refusal(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "serving on" not in result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, result.stderr
    for word in words:
        assert word in errors[0], (word, errors[0])


@pytest.fixture
def held_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield int(sock.getsockname()[1])


def test_init_refuses_a_taken_port(tmp_path: Path, held_port: int) -> None:
    result = tsunagu("init", tmp_path / "p", "--name", "P", "--port", held_port, "--dev")
    one_line_refusal(result, "--port", "in use")
    assert not (tmp_path / "p").exists()


def test_serve_refuses_without_a_credential_of_its_own(
    tmp_path: Path, authority: Authority
) -> None:
    directory = participant(tmp_path, "p", authority, dev=False)
    one_line_refusal(tsunagu("serve", directory), "credential", "tsunagu authority issue")

    other = participant(tmp_path, "q", authority, dev=False)
    issue(authority, load_settings(other).did, directory / "credential.jwt")
    one_line_refusal(
        tsunagu("serve", directory), "issued to", load_settings(directory).did, "--subject"
    )

    (directory / "credential.jwt").write_text("not a credential")
    one_line_refusal(tsunagu("serve", directory), "not a VC-JWT")


def test_serve_refuses_a_taken_port_before_saying_it_serves(
    tmp_path: Path, authority: Authority
) -> None:
    directory = participant(tmp_path, "p", authority, dev=True)
    settings = load_settings(directory)
    issue(authority, settings.did, directory / "credential.jwt")
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", settings.port))
        sock.listen(1)
        one_line_refusal(tsunagu("serve", directory), str(settings.port), "tsunagu init")


def test_private_files_are_private_and_serve_says_when_not(
    tmp_path: Path, authority: Authority
) -> None:
    directory = participant(tmp_path, "p", authority, dev=True)
    settings = load_settings(directory)
    # the credential as `tsunagu authority issue --output` writes it
    result = tsunagu(
        "authority", "issue", authority.directory, "--subject", settings.did, "--legal-name", "P",
        "--role", "municipality", "--output", directory / "credential.jwt",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert mode(directory) == 0o700 and mode(directory / "keys") == 0o700
    for private in ("tsunagu.toml", "tsunagu.db", "credential.jwt", "keys/key-1.pem"):
        assert mode(directory / private) == 0o600, private

    # loosened later (a copy, an unpack): serve says which and how to fix, then goes on
    # to the next check (here a port held by someone else, so it stops without serving)
    (directory / "tsunagu.db").chmod(0o644)
    directory.chmod(0o755)
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", settings.port))
        sock.listen(1)
        result = tsunagu("serve", directory)
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert any(f"chmod 600 {directory / 'tsunagu.db'}" in w for w in warnings), result.stderr
    assert any(f"chmod 700 {directory}" in w for w in warnings), result.stderr
    assert not any("credential" in w for w in warnings)


def test_dev_mode_warns_about_a_missing_credential_and_serves(
    tmp_path: Path, authority: Authority
) -> None:
    directory = participant(tmp_path, "p", authority, dev=True)
    env = {k: v for k, v in os.environ.items() if k != "TSUNAGU_DATABASE_URL"}
    proc = subprocess.Popen(
        [TSUNAGU, "serve", str(directory), "--log-level", "warning"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # printed once the port is ours
        assert "serving on" in line
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert "warning: no membership credential" in err and "dev mode: serving anyway" in err
