"""The event loop `tsunagu serve` and `tsunagu authority serve` give uvicorn: uvloop's (less CPU
per request), and on it, as on asyncio's, accepted connections send small writes at once."""

from __future__ import annotations

import asyncio
import socket
import sys

import pytest
import uvicorn

from connector.serving import SERVER_LOOP, bind_listener


def _server_loop() -> asyncio.AbstractEventLoop:
    factory = uvicorn.Config(app=None, loop=SERVER_LOOP).get_loop_factory()
    assert factory is not None
    return factory()


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop has no Windows build")
def test_served_processes_run_on_uvloop() -> None:
    import uvloop

    loop = _server_loop()
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()


def test_connections_accepted_on_the_server_loop_do_not_wait_for_delayed_acks() -> None:
    listener = bind_listener("127.0.0.1", 0)
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
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            for _ in range(100):
                if seen:
                    break
                await asyncio.sleep(0.01)
            writer.close()

    with asyncio.Runner(loop_factory=_server_loop) as runner:
        runner.run(accept_one())
    assert seen and seen[0] != 0
