"""Waiting for a process to change, without polling.

Services report every committed change of a negotiation or transfer (from whichever thread
committed it), with the state it was committed in; `wait()` parks a coroutine until the process
settles in one of the states it waits for (or until any change, when it names none). The
management API builds its long-poll on it, so `tsunagu negotiate --wait` and the demo learn of
FINALIZED the moment it is committed, without re-reading the process at every step on the way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass


@dataclass(eq=False)
class _Waiter:
    future: asyncio.Future[None]
    states: frozenset[str] | None  # None: any change

    def wants(self, state: str | None, owing: bool) -> bool:
        if self.states is None or state is None:
            return True  # a change whose state we were not told: let the waiter look
        return state in self.states and not owing


class Changes:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: dict[str, list[_Waiter]] = {}

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def changed(self, pid: str, state: str | None = None, *, owing: bool = False) -> None:
        """Thread-safe: `pid` was just committed in `state` (None: unknown), `owing` a message
        to the peer still."""
        loop = self._loop
        if loop is not None and not loop.is_closed() and pid in self._waiters:
            loop.call_soon_threadsafe(self._wake, pid, state, owing)

    def _wake(self, pid: str, state: str | None, owing: bool) -> None:
        waiters = self._waiters.get(pid, [])
        for waiter in [w for w in waiters if w.wants(state, owing)]:
            if not waiter.future.done():
                waiter.future.set_result(None)
            waiters.remove(waiter)
        if not waiters:
            self._waiters.pop(pid, None)

    def watch(self, pid: str, states: Collection[str] | None = None) -> asyncio.Future[None]:
        """Register interest *before* reading the state, so no change slips in between."""
        loop = asyncio.get_running_loop()
        self._loop = self._loop or loop
        future: asyncio.Future[None] = loop.create_future()
        wanted = frozenset(states) if states is not None else None
        self._waiters.setdefault(pid, []).append(_Waiter(future, wanted))
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
            waiters[:] = [w for w in waiters if w.future is not future]
            if not waiters:
                self._waiters.pop(pid, None)
