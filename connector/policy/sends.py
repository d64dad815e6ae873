"""The sends a duty owes a peer, each a task of its own, stopped before the dispatcher closes
(else a late send would open a new session nobody closes)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class Sends:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    def start(self, send: Coroutine[Any, Any, None]) -> None:
        """Run `send` in the running loop; after `aclose` it is dropped unstarted."""
        if self._closed:
            send.close()
            return
        task = asyncio.get_running_loop().create_task(send)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        self._closed = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def settle(self) -> None:
        """Wait for the sends under way (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
