"""Name resolution for outbound requests, behind a protocol so tests can say what a name
resolves to (and to something different the second time) without touching DNS."""

from __future__ import annotations

import asyncio
import socket
from typing import Protocol

from connector.outbound.errors import OutboundUnresolved


class Resolver(Protocol):
    async def resolve(self, host: str, port: int) -> list[str]:
        """The addresses of `host`, as IP strings; raises OutboundUnresolved."""
        ...


class SystemResolver:
    """The operating system's resolver (getaddrinfo, run off the event loop)."""

    async def resolve(self, host: str, port: int) -> list[str]:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise OutboundUnresolved(f"{host} does not resolve: {exc}") from exc
        # getaddrinfo may append a scope ("fe80::1%eth0"); the scope does not change the verdict
        addresses = [str(info[4][0]).split("%", 1)[0] for info in infos]
        return list(dict.fromkeys(addresses))  # once each, in the resolver's order
