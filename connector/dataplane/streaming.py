"""Sending a source's chunks to the client, and cutting streams that must stop.

`StreamedBody` is an ASGI response that streams chunk by chunk with backpressure (each send
waits while the socket's buffer is full), stops when the client goes away, and can be *cut*:
`OpenStreams.cut(transfer_id)` cancels every open stream of a transfer at once, whatever it
is waiting on. A cut live stream ends with an `end` event naming the reason; a cut byte stream
is aborted (the connection closes before the last chunk), so the client cannot mistake it for
a complete body.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

log = logging.getLogger("tsunagu.dataplane")
SMALL = 256 * 1024
_TEXTUAL = ("text/", "application/json", "application/x-ndjson", "application/xml", "+json")


class OpenStreams:
    """Cancel scopes of the streams now open, by transfer id (used in the event loop only)."""

    def __init__(self) -> None:
        self._open: dict[str, dict[anyio.CancelScope, list[str]]] = {}

    def add(self, transfer_id: str, scope: anyio.CancelScope, reason: list[str]) -> None:
        self._open.setdefault(transfer_id, {})[scope] = reason

    def discard(self, transfer_id: str, scope: anyio.CancelScope) -> None:
        scopes = self._open.get(transfer_id)
        if scopes is not None:
            scopes.pop(scope, None)
            if not scopes:
                del self._open[transfer_id]

    def transfer_ids(self) -> list[str]:
        return list(self._open)

    def count(self, transfer_id: str | None = None) -> int:
        if transfer_id is not None:
            return len(self._open.get(transfer_id, {}))
        return sum(len(s) for s in self._open.values())

    def cut(self, transfer_id: str, reason: str) -> int:
        scopes = self._open.get(transfer_id, {})
        for scope, why in scopes.items():
            why.append(reason)
            scope.cancel()
        return len(scopes)


async def aclose(chunks: AsyncIterator[bytes]) -> None:
    close = getattr(chunks, "aclose", None)
    if close is not None:
        with anyio.CancelScope(shield=True):
            await close()


def end_event(media_type: str, reason: str) -> bytes:
    record = {"event": "end", "reason": reason}
    if media_type.startswith("text/event-stream"):
        return f"event: end\ndata: {json.dumps(record, ensure_ascii=False)}\n\n".encode()
    return json.dumps(record, ensure_ascii=False).encode() + b"\n"


def compressible(content_type: str | None) -> bool:
    kind = (content_type or "").split(";")[0].strip().lower()
    return any(kind.startswith(t) or kind.endswith(t) for t in _TEXTUAL)


async def gzipped(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """gzip on the fly, flushed per chunk so live readings are not held back."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    try:
        async for chunk in chunks:
            out = compressor.compress(chunk) + compressor.flush(zlib.Z_SYNC_FLUSH)
            if out:
                yield out
        yield compressor.flush()
    finally:
        await aclose(chunks)


class StreamedBody(Response):
    def __init__(
        self,
        chunks: AsyncIterator[bytes],
        *,
        status_code: int,
        headers: dict[str, str],
        streams: OpenStreams,
        transfer_id: str,
        live: bool = False,
        on_end: Callable[[str], None] | None = None,
    ) -> None:
        # Not Response.__init__: it would add a Content-Length of its own (for an empty body).
        self.status_code = status_code
        self.background = None
        self.raw_headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()
        ]
        self.chunks = chunks
        self.streams = streams
        self.transfer_id = transfer_id
        self.live = live
        self.on_end = on_end
        self.media = headers.get("Content-Type", "")
        self.length = headers.get("Content-Length")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        length = self.length
        if length is not None and length.isdigit() and int(length) <= SMALL and not self.live:
            await self._small(send, int(length))
            return
        outcome = "aborted"
        cut: list[str] = []
        try:
            with anyio.CancelScope() as cancel:
                self.streams.add(self.transfer_id, cancel, cut)
                try:
                    async with anyio.create_task_group() as tg:
                        tg.start_soon(_until_disconnect, receive, tg.cancel_scope)
                        await send(
                            {
                                "type": "http.response.start",
                                "status": self.status_code,
                                "headers": self.raw_headers,
                            }
                        )
                        try:
                            async for chunk in self.chunks:
                                await send(
                                    {"type": "http.response.body", "body": chunk, "more_body": True}
                                )
                        except Exception as exc:  # the source broke off, or the client left
                            log.info("stream of %s aborted: %r", self.transfer_id, exc)
                        else:
                            outcome = "complete"
                        tg.cancel_scope.cancel()
                finally:
                    self.streams.discard(self.transfer_id, cancel)
                    await aclose(self.chunks)
            if outcome == "complete":
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            elif cut and self.live:
                outcome = "cut"
                await send(
                    {
                        "type": "http.response.body",
                        "body": end_event(self.media, cut[0]),
                        "more_body": False,
                    }
                )
            elif cut:
                outcome = "cut"
            # otherwise the client went away, or the stream was cut: returning without the
            # final message makes the server close the connection (an aborted response).
        finally:
            if self.on_end is not None:
                self.on_end(cut[0] if cut else outcome)

    async def _small(self, send: Send, length: int) -> None:
        """A body that fits in one buffer goes out in one message: no task, nothing to cut."""
        parts: list[bytes] = []
        try:
            async for chunk in self.chunks:
                parts.append(chunk)
                if sum(map(len, parts)) >= length:
                    break
        finally:
            await aclose(self.chunks)
        body = b"".join(parts)
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        await send({"type": "http.response.body", "body": body, "more_body": len(body) < length})
        if self.on_end is not None:
            self.on_end("complete")


async def _until_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
    while True:
        message: Any = await receive()
        if message["type"] == "http.disconnect":
            scope.cancel()
            return
