"""`tsunagu demo --console`: the basin keeps running, each console's URL and login is printed,
C村's dashboard shows both neighbours' stations, and Ctrl-C stops it all cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]
STATIONS = ("上流橋", "中島", "中流大橋")


def _lines_until(process: subprocess.Popen[str], marker: str, timeout: float) -> list[str]:
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if marker in line:
            return lines
    raise AssertionError("the demo never printed " + marker + ":\n" + "\n".join(lines))


def test_demo_console(page: Any, artifacts: Path, tmp_path: Path) -> None:
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("tsunagu")), "demo", "--console"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        lines = _lines_until(process, "flood dashboard", timeout=120)
        text = "\n".join(lines)
        c_url = re.search(r"C村: (http://\S+/console)", text)
        c_token = re.search(r"C村: http://\S+\n\s+login token: (\S+)", text)
        assert c_url and c_token, text
        page.goto(c_url.group(1) + "/login")
        page.fill("#token", c_token.group(1))
        page.click("#login")
        page.wait_for_url("**/console/overview")
        page.goto(c_url.group(1) + "/river")
        for name in STATIONS:  # A市's CSV and B町's live gauge, through C村's transfers
            row = page.locator("#stations tr").filter(has_text=name)
            row.locator("td.value", has_text=" m").wait_for(timeout=15000)
        page.screenshot(path=str(artifacts / "demo-river.png"), full_page=True)
    finally:
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, out
    assert "stopped" in out
