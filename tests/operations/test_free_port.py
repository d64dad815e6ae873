"""free_port: the ports it hands out, probed free, are not handed out again while whoever took
one may not be listening yet (two servers of one test got the same port once: "address
already in use" in a loaded run); reserve_port holds one from its choice on; a server whose
port is taken fails alone, with an OSError."""

from __future__ import annotations

import errno

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from connector.serving import BackgroundServer, bind_listener, free_port, reserve_port


def test_ports_handed_out_are_not_handed_out_again() -> None:
    # 200 draws from ~22,000 ports: without the memory a repeat is more likely than not.
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)


def test_a_reserved_port_is_held_until_its_server_listens_on_it() -> None:
    held = reserve_port()
    try:
        port = held.getsockname()[1]
        with pytest.raises(OSError) as taken:
            bind_listener("127.0.0.1", port)  # another process trying it meanwhile
        assert taken.value.errno == errno.EADDRINUSE
    finally:
        held.close()


@pytest.mark.anyio
async def test_a_taken_port_is_an_oserror_from_start_and_the_next_server_still_starts() -> None:
    """uvicorn ends with SystemExit when its own bind fails; in a test run that broke every
    later fixture of the worker. The server binds first, so the failure is this one's alone."""
    held = reserve_port()
    app = Starlette(routes=[Route("/", lambda _request: PlainTextResponse("ok"))])
    try:
        port = held.getsockname()[1]
        with pytest.raises(OSError) as taken:
            await BackgroundServer(app, host="127.0.0.1", port=port).start()
        assert taken.value.errno == errno.EADDRINUSE
    finally:
        held.close()
    listener = reserve_port()
    server = BackgroundServer(
        app, host="127.0.0.1", port=listener.getsockname()[1], listener=listener
    )
    await server.start()
    try:
        async with httpx.AsyncClient() as http:
            answer = await http.get(f"http://127.0.0.1:{listener.getsockname()[1]}/")
        assert answer.text == "ok"
    finally:
        await server.stop()
