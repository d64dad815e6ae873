"""A resolver the test controls, a dialler that must never be used, and small loopback
servers (a plain one, one that trickles, one that floods)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import httpcore

from connector.outbound import OutboundUnresolved


class ScriptedResolver:
    """Answers from a table; a host mapped to several answer lists gets the next one on each
    call (the last one repeats), which is how a rebinding DNS server behaves."""

    def __init__(self, table: dict[str, list[str] | list[list[str]]]) -> None:
        self.table = table
        self.calls: list[str] = []

    async def resolve(self, host: str, port: int) -> list[str]:
        del port
        self.calls.append(host)
        answers = self.table.get(host)
        if answers is None:
            raise OutboundUnresolved(f"{host} is not in the test's table")
        if answers and isinstance(answers[0], list):
            index = min(self.calls.count(host), len(answers)) - 1
            return list(answers[index])
        return [str(a) for a in answers]


class NeverDial(httpcore.AsyncNetworkBackend):
    """A network backend that fails the test if anything tries to open a connection."""

    def __init__(self) -> None:
        self.dialled: list[str] = []

    async def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        self.dialled.append(f"{host}:{port}")
        raise AssertionError(f"dialled {host}:{port}, which the policy should have refused")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class RecordingDial(httpcore.AsyncNetworkBackend):
    """The real backend, remembering which addresses were dialled."""

    def __init__(self) -> None:
        self.inner = httpcore.AnyIOBackend()
        self.dialled: list[str] = []

    async def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        self.dialled.append(host)
        return await self.inner.connect_tcp(host, port, *args, **kwargs)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def never_socket(*_args: Any) -> Any:
    """aiohttp socket factory that fails the test when called."""
    raise AssertionError("aiohttp opened a socket the policy should have refused")


Handler = Callable[[bytes, asyncio.StreamWriter], Any]


@contextlib.asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[tuple[int, list[bytes]]]:
    """A TCP server on 127.0.0.1 that hands each request head to `handler`."""
    heads: list[bytes] = []
    tasks: set[asyncio.Task[None]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            heads.append(head)
            await handler(head, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            tasks.discard(task)
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port, heads
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        await server.wait_closed()


def respond(status: int = 200, body: bytes = b"{}", headers: Iterable[str] = ()) -> Handler:
    async def handler(_head: bytes, writer: asyncio.StreamWriter) -> None:
        lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", *headers]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await writer.drain()

    return handler


async def trickle(_head: bytes, writer: asyncio.StreamWriter) -> None:
    """Headers at once, then one body byte every 50 ms, for ever (chunked, no length)."""
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
    writer.write(b"Transfer-Encoding: chunked\r\n\r\n")
    while True:
        writer.write(b"1\r\n \r\n")
        await writer.drain()
        await asyncio.sleep(0.05)


def flood(total: int) -> Handler:
    """`total` bytes of body, chunked, without announcing the length."""

    async def handler(_head: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
        writer.write(b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = b" " * 65536
        for _ in range(total // len(chunk)):
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    return handler
