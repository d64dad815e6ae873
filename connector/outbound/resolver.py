"""Name resolution for outbound requests, behind a protocol so tests can say what a name
resolves to (and to something different the second time) without touching DNS."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Protocol

from connector.outbound.errors import OutboundUnresolved


class Resolver(Protocol):
    async def resolve(self, host: str, port: int) -> list[str]:
        """The addresses of `host`, as IP strings; raises OutboundUnresolved."""
        ...


class SystemResolver:
    """The operating system's resolver (getaddrinfo, run off the event loop), its answers
    kept for `ttl` seconds as aiohttp keeps its own: a peer's callback address is checked on
    every message it sends, and each lookup was a hop to a worker thread. Only the lookup is
    kept, never a verdict: the policy checks the kept addresses each time, and a connection
    dials only checked ones, so a name re-pointed meanwhile gains nothing."""

    def __init__(self, ttl: float = 10.0, kept: int = 1024) -> None:
        self.ttl = ttl
        self.kept = kept
        self._answers: dict[tuple[str, int], tuple[float, list[str]]] = {}

    async def resolve(self, host: str, port: int) -> list[str]:
        key = (host, port)
        found = self._answers.get(key)
        if found is not None and time.monotonic() < found[0]:
            return list(found[1])
        addresses = await self._lookup(host, port)
        if len(self._answers) >= self.kept:
            self._answers.clear()  # many names at once: start again rather than track age
        self._answers[key] = (time.monotonic() + self.ttl, addresses)
        return list(addresses)

    async def _lookup(self, host: str, port: int) -> list[str]:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise OutboundUnresolved(f"{host} does not resolve: {exc}") from exc
        # getaddrinfo may append a scope ("fe80::1%eth0"); the scope does not change the verdict
        addresses = [str(info[4][0]).split("%", 1)[0] for info in infos]
        return list(dict.fromkeys(addresses))  # once each, in the resolver's order
