"""A data space running on its own event loop in a thread, for the fuzzers: schemathesis and
hypothesis drive synchronous tests, the connectors are async and serve real loopback sockets."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from connector.demo.localspace import LocalDataspace

T = TypeVar("T")


class LiveSpace:
    """`run(coro)` executes on the space's loop and returns the result to the calling thread."""

    def __init__(self, space: LocalDataspace, loop: asyncio.AbstractEventLoop) -> None:
        self.space = space
        self.loop = loop
        self.made: dict[str, Any] = {}  # what the set-up made, by name

    def run(self, make: Callable[[], Awaitable[T]], timeout: float = 60) -> T:
        async def call() -> T:
            return await make()

        future: Future[T] = asyncio.run_coroutine_threadsafe(call(), self.loop)
        return future.result(timeout)

    def operator(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.space[key].settings.management_token}"}

    def url(self, key: str) -> str:
        return self.space[key].settings.public_url

    def call(self, key: str, method: str, path: str, **kwargs: Any) -> Any:
        return self.run(lambda: self.space[key].client.call(method, path, **kwargs))


@contextmanager
def live_space(
    root: Path,
    setup: Callable[[LocalDataspace], Awaitable[dict[str, Any]]],
    *,
    database_for: Callable[[str], str | None] = lambda _key: None,
) -> Iterator[LiveSpace]:
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    thread = threading.Thread(
        target=lambda: (asyncio.set_event_loop(loop), ready.set(), loop.run_forever()),
        name="fuzz space",
        daemon=True,
    )
    thread.start()
    ready.wait()
    space = LocalDataspace(root, database_url_for=database_for)
    live = LiveSpace(space, loop)
    try:
        live.made = live.run(lambda: setup(space), timeout=120)
        yield live
    finally:
        try:
            live.run(space.aclose, timeout=120)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(30)
            loop.close()
