"""The console against real connectors: a data space running in a thread of its own (its own
event loop), so the tests can drive a real browser with Playwright's sync API meanwhile."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import threading
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import pytest

from connector.demo.localspace import LocalDataspace, Participant
from connector.settings import write_settings

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "vocab"
COUNCIL = "urn:tsunagu:council:test-basin"
CHROMIUM = os.environ.get("TSUNAGU_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("TSUNAGU_SCREENSHOTS", ROOT / "test-artifacts" / "console"))


class Space:
    """A LocalDataspace on a loop in a background thread; `run` waits for a coroutine there."""

    def __init__(self, root: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.space = LocalDataspace(root)

    def run(self, make: Callable[[], Awaitable[T]], timeout: float = 60) -> T:
        async def wrapped() -> T:
            return await make()

        future: Future[T] = asyncio.run_coroutine_threadsafe(wrapped(), self.loop)
        return future.result(timeout)

    def __getitem__(self, key: str) -> Participant:
        return self.space[key]

    def url(self, key: str, path: str = "/console/login") -> str:
        return f"{self.space[key].settings.public_url}{path}"

    def close(self) -> None:
        try:
            self.run(self.space.aclose)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()


def b_town_feed() -> dict[str, Any]:
    return {
        "dataset": "urn:tsunagu:dataset:b:water-level",
        "mapping": str(EXAMPLES / "b-town.toml"),
        "stations": [str(EXAMPLES / "b-town-stations.ttl")],
    }


@pytest.fixture
def space(tmp_path: Path) -> Iterator[Space]:
    """An authority, B町 (provider) and C村 (consumer, with B町's water level on its dashboard)."""
    s = Space(tmp_path)

    async def build() -> None:
        await s.space.start_authority()
        await s.space.add("b", "B町", municipality_code="085901", memberships=[COUNCIL])
        c = await s.space.add("c", "C村", municipality_code="204323", memberships=[COUNCIL])
        settings = dataclasses.replace(c.settings, dashboard_feeds=(b_town_feed(),))
        write_settings(settings)
        await s.space.stop("c")
        await s.space.serve("c", settings)

    try:
        s.run(build)
        yield s
    finally:
        s.close()


def chromium_path() -> str:
    """Debian's chromium; CI installs it (.ci/run), where it must be there."""
    if shutil.which(CHROMIUM) or Path(CHROMIUM).is_file():
        return CHROMIUM
    message = f"no chromium at {CHROMIUM}: apt-get install chromium (or set TSUNAGU_CHROMIUM)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # per module, not per session: Playwright's sync API keeps an event loop marked running
    # in this thread while it lives, which later tests that run their own loop cannot share
    path = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    print(f"\nconsole screenshots: {ARTIFACTS}")
    return ARTIFACTS


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) and page; console errors fail the test."""
    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="ja-JP")
    page = context.new_page()
    errors: list[str] = []

    def console(message: Any) -> None:
        # A page answered 400 (a form with bad input) is reported as a failed resource too;
        # failed sub-resources (styles, scripts, charts) are caught below, with their URL.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    def response(answer: Any) -> None:
        if answer.status >= 400 and answer.request.resource_type != "document":
            errors.append(f"{answer.status} {answer.url}")

    page.on("console", console)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", response)
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"the browser reported errors: {errors}"


def log_in(page: Any, space: Space, key: str) -> None:
    page.goto(space.url(key))
    page.fill("#token", space[key].settings.management_token)
    page.click("#login")
    page.wait_for_url("**/console/overview")
