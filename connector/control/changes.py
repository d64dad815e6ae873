"""Waiting for a process to change, without polling.

Services report every committed change of a negotiation or transfer (from whichever thread
committed it); `wait()` parks a coroutine until the next change of that one process. The
management API builds its long-poll on it, so `tsunagu negotiate --wait` and the demo learn of
FINALIZED the moment it is committed.
"""

from __future__ import annotations

import asyncio
import contextlib


class Changes:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def changed(self, pid: str) -> None:
        """Thread-safe: `pid` was just committed with a new state or pending message."""
        loop = self._loop
        if loop is not None and not loop.is_closed() and pid in self._waiters:
            loop.call_soon_threadsafe(self._wake, pid)

    def _wake(self, pid: str) -> None:
        for future in self._waiters.pop(pid, []):
            if not future.done():
                future.set_result(None)

    def watch(self, pid: str) -> asyncio.Future[None]:
        """Register interest *before* reading the state, so no change slips in between."""
        loop = asyncio.get_running_loop()
        self._loop = self._loop or loop
        future: asyncio.Future[None] = loop.create_future()
        self._waiters.setdefault(pid, []).append(future)
        return future

    async def wait(self, pid: str, future: asyncio.Future[None], timeout: float) -> None:
        try:
            await asyncio.wait_for(future, timeout)
        except TimeoutError:
            pass
        finally:
            self.forget(pid, future)

    def forget(self, pid: str, future: asyncio.Future[None]) -> None:
        """Drop a registration that is no longer needed."""
        waiters = self._waiters.get(pid)
        if waiters is not None:
            with contextlib.suppress(ValueError):
                waiters.remove(future)
            if not waiters:
                self._waiters.pop(pid, None)
