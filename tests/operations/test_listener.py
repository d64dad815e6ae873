"""The listening socket `tsunagu serve` hands to uvicorn: connections it accepts must send
small writes at once (TCP_NODELAY). Without it every answer on a kept-alive connection whose
head and body go out in two writes waited for the peer's delayed ACK (~40 ms each)."""

from __future__ import annotations

import asyncio
import socket

import pytest

from connector.serving import bind_listener


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_accepted_connections_do_not_wait_for_delayed_acks(host: str) -> None:
    try:
        listener = bind_listener(host, 0)
    except OSError:
        pytest.skip(f"{host} is not available on this machine")
    port = listener.getsockname()[1]
    seen: list[int] = []

    class Note(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def accept_one() -> None:
        server = await asyncio.get_running_loop().create_server(Note, sock=listener)
        async with server:
            _, writer = await asyncio.open_connection(host, port)
            for _ in range(100):
                if seen:
                    break
                await asyncio.sleep(0.01)
            writer.close()

    asyncio.run(accept_one())
    assert seen and seen[0] != 0, "the accepted connection still runs Nagle's algorithm"
