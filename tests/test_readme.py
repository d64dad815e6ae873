"""The README's "Running your own participant" recipe, run as written: its commands are taken
from the README's first fenced block in that section and run one by one in a scratch
directory (with the repository's `examples/` beside them), each server in its own process.

Two things are adapted, and only these: the ports 8100-8102 become free ones (the machine may
be busy), and `<agreement id>` / `<process id>` become the ids the commands before printed
in their human summary, as a reader would copy them."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from connector.serving import free_port

ROOT = Path(__file__).parent.parent
BIN = Path(sys.executable).parent
SECTION = "## Running your own participant"
PORTS = ("8100", "8101", "8102")

pytestmark = pytest.mark.readme


def recipe() -> list[str]:
    """The commands of the section's first ```sh block, continuation lines joined."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index(SECTION) :]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, "the recipe has no ```sh block"
    commands, current = [], ""
    for line in block.group(1).splitlines():
        current += line.rstrip("\\").rstrip() + " " if line.endswith("\\") else line
        if not line.endswith("\\"):
            if current.strip() and not current.lstrip().startswith("#"):
                commands.append(current.strip())
            current = ""
    return commands


def test_the_recipe_covers_a_whole_exchange() -> None:
    steps = [shlex.split(c, comments=True)[:2] for c in recipe()]
    for needed in (
        ["tsunagu", "authority"],
        ["tsunagu", "init"],
        ["tsunagu", "serve"],
        ["tsunagu", "dataset"],
        ["tsunagu", "catalog"],
        ["tsunagu", "negotiate"],
        ["tsunagu", "transfer"],
        ["tsunagu", "fetch"],
    ):
        assert needed in steps, needed
    assert sum(1 for s in steps if s == ["tsunagu", "init"]) == 2  # provider and consumer


@pytest.fixture
def background() -> Iterator[list[subprocess.Popen[str]]]:
    running: list[subprocess.Popen[str]] = []
    yield running
    for proc in running:
        proc.terminate()
    for proc in running:
        proc.wait(timeout=20)


def _wait_up(url: str, proc: subprocess.Popen[str], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{proc.args} stopped: exit {proc.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise AssertionError(f"{url} never answered")


def test_the_readme_recipe_runs_as_written(
    tmp_path: Path, background: list[subprocess.Popen[str]]
) -> None:
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    ports = {old: str(free_port()) for old in PORTS}
    env = {k: v for k, v in os.environ.items() if k != "TSUNAGU_DATABASE_URL"}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    ids: dict[str, str] = {}
    for command in recipe():
        for old, new in ports.items():
            command = command.replace(old, new)
        for placeholder, value in ids.items():
            command = command.replace(placeholder, value)
        assert "<" not in command, f"nothing printed the id for: {command}"
        args = shlex.split(command, comments=True)
        if args[-1] == "&":
            proc = subprocess.Popen(
                args[:-1],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            background.append(proc)
            directory = args[-2] if args[1] == "serve" else args[-3]
            _wait_up(f"http://127.0.0.1:{_port_of(tmp_path / directory)}/", proc)
            continue
        done = subprocess.run(
            args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stderr
        for label in ("agreement id", "process id"):
            found = re.search(rf"^\s*{label}\s+(\S+)", done.stdout, re.M)
            if found and args[1] in ("negotiate", "transfer"):
                ids[f"<{label}>"] = found.group(1)  # the latest, as a reader copies it
    fetched = tmp_path / "levels.csv"
    assert fetched.read_bytes() == (ROOT / "examples/vocab/a-city-readings.csv").read_bytes()


def _port_of(directory: Path) -> int:
    if (directory / "tsunagu.toml").exists():
        return int(tomllib.loads((directory / "tsunagu.toml").read_text())["participant"]["port"])
    return int(tomllib.loads((directory / "authority.toml").read_text())["port"])
