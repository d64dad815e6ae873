"""Every command, given typical bad input, answers with one line saying what is wrong (and
exit status != 0), never a traceback. The command tree is walked, so a new command is
covered the day it is added; each round gives every argument a plausible wrong value."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import click
import httpx
import pytest
from click.testing import CliRunner

from connector.cli import main
from connector.serving import free_port

# Commands with no input to get wrong, or that run for as long as they are left running.
NO_BAD_INPUT = {("demo",)}
TSUNAGU = str(Path(sys.executable).with_name("tsunagu"))


def commands(group: click.Group = main, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
        elif (*path, name) not in NO_BAD_INPUT:
            yield (*path, name)


def command_of(path: tuple[str, ...]) -> click.Command:
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


def bad_args(path: tuple[str, ...], directory: Path, nowhere: Path) -> list[str]:
    """Arguments that parse but are wrong: an id that names nothing, a port out of range,
    a file that is not there; DIRECTORY is `directory`."""
    args: list[str] = []
    for param in command_of(path).params:
        if isinstance(param, click.Argument):
            if param.name == "directory":
                args.append(str(directory))
            elif isinstance(param.type, click.Path):
                args.append(str(nowhere / "missing.csv"))
            elif param.name == "old":
                args.append("9.9.9")
            elif param.name == "term":
                args.append("nope:nothing")
            else:
                args.append("urn:uuid:00000000-0000-4000-8000-000000000000")
        elif isinstance(param, click.Option) and param.required:
            name = max(param.opts, key=len)
            if isinstance(param.type, click.Path):
                args += [name, str(nowhere / "missing.toml")]
            elif "port" in name:
                args += [name, "70000"]
            else:
                args += [name, "not an iri"]
    if path == ("dataset", "update"):
        args += ["--title", "x"]
    return args


def assert_one_clear_line(path: tuple[str, ...], args: list[str]) -> None:
    result = CliRunner().invoke(main, [*path, *args])
    shown = f"tsunagu {' '.join(path)} {' '.join(args)}\n{result.output}"
    assert result.exit_code != 0, shown
    assert result.exception is None or isinstance(result.exception, SystemExit), shown
    assert "Traceback" not in result.output, shown
    errors = [line for line in result.output.splitlines() if "Error" in line]
    assert len(errors) == 1 and len(errors[0]) > len("Error: ") + 10, shown


@pytest.mark.parametrize("path", list(commands()), ids=" ".join)
def test_no_participant_there(path: tuple[str, ...], tmp_path: Path) -> None:
    assert_one_clear_line(path, bad_args(path, tmp_path / "nowhere", tmp_path))
    if path[-1] == "init":
        assert not (tmp_path / "nowhere").exists()  # nothing was made


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A participant whose connector runs (dev mode, no credential: it warns and serves)."""
    directory = tmp_path_factory.mktemp("running") / "p"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "TSUNAGU_DATABASE_URL"}
    made = subprocess.run(
        [TSUNAGU, "init", str(directory), "--name", "P", "--port", str(port), "--dev"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    proc = subprocess.Popen(
        [TSUNAGU, "serve", str(directory), "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/.well-known/dspace-version", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and proc.poll() is None, "serve never came up"
                time.sleep(0.05)
        yield directory
    finally:
        proc.terminate()
        proc.wait(timeout=20)


# Commands whose every argument is right on a running participant: the log is shown (or
# signed) as it is, a portal's name is free text, a backup of a running participant is what
# `backup` is for, a key rotation names no id, and the geography is shown as it is.
VALID_ON_A_PARTICIPANT = {
    ("audit", "show"),
    ("policy", "geography", "show"),
    ("audit", "checkpoint"),
    ("consent", "portal", "add"),
    ("backup",),
    ("keys", "rotate"),
}
# Lists take no id to get wrong; the rest name a process, dataset, agreement or peer.
ON_A_PARTICIPANT = [
    p
    for p in commands()
    if p[0] not in ("init", "serve", "authority", "vocab", "convert")
    and p[-1] != "list"
    and p not in VALID_ON_A_PARTICIPANT
]


@pytest.mark.parametrize("path", ON_A_PARTICIPANT, ids=" ".join)
def test_unknown_ids_on_a_running_participant(
    path: tuple[str, ...], running: Path, tmp_path: Path
) -> None:
    assert_one_clear_line(path, bad_args(path, running, tmp_path))
