"""Push transfers: the provider streams the data into the consumer's sink, then completes.

Consumer side, a *sink* is an endpoint of the consumer's own connector (`PUT /data/sinks/<id>`)
guarded by a random token it issued; the consumer names it in its transfer request, and what
arrives is written to `<participant dir>/received/<id>` (streamed, never held in memory).

Provider side, a START of a push transfer enqueues a job (`push_job`); the sender streams the
source to the sink, sends the completion message when the sink took everything, and retries a
failed push with exponential backoff. When it keeps failing the transfer is terminated with
code `push_failed` and the last error as reason, which both sides see in its history.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import anyio

from connector.clock import Clock
from connector.dataplane.addresses import HTTP_ENDPOINT_TYPE, endpoint_properties
from connector.dataplane.errors import TokenRejected
from connector.dataplane.sources import Body, DataRequest
from connector.dataplane.tokens import bearer, token_hash
from connector.errors import Conflict, ConnectorError, NotFound
from connector.protocol.transfer import TransferEvent
from connector.store.dataplane_queries import DataPlaneQueries
from connector.store.dataplane_tables import PushSinkRow
from connector.store.store import Store
from connector.store.tables import TransferRow

log = logging.getLogger("tsunagu.dataplane")
CHUNK = 1 << 20


# -- consumer: sinks -----------------------------------------------------------------------


class Sinks:
    def __init__(
        self, queries: DataPlaneQueries, clock: Clock, *, directory: Path, public_url: str
    ) -> None:
        self.queries = queries
        self.clock = clock
        self.directory = directory / "received"
        self.public_url = public_url.rstrip("/")

    def new_address(self) -> dict[str, Any]:
        """A sink of ours, as the data address of a push transfer request."""
        sink_id = uuid.uuid4().hex
        token = secrets.token_urlsafe(32)
        now = self.clock()
        self.queries.add_sink(
            PushSinkRow(id=sink_id, token_hash=token_hash(token), created_at=now, updated_at=now)
        )
        return {
            "@type": "DataAddress",
            "endpointType": HTTP_ENDPOINT_TYPE,
            "endpoint": f"{self.public_url}/data/sinks/{sink_id}",
            "endpointProperties": [
                {"@type": "EndpointProperty", "name": "authorization", "value": token},
                {"@type": "EndpointProperty", "name": "authType", "value": "bearer"},
            ],
        }

    def path(self, sink_id: str) -> Path:
        return self.directory / sink_id

    async def receive(
        self, sink_id: str, authorization: str | None, content_type: str | None, body: Any
    ) -> int:
        """Write a pushed body to disk; the previous push (a retry) is replaced whole."""
        sink = await anyio.to_thread.run_sync(self.queries.sink, sink_id)
        presented = bearer(authorization)
        if sink is None or not secrets.compare_digest(token_hash(presented), sink.token_hash):
            raise TokenRejected("this sink does not take that token", code="sink_token_invalid")
        await anyio.to_thread.run_sync(lambda: self.directory.mkdir(parents=True, exist_ok=True))
        part = self.path(sink_id).with_suffix(".part")
        size = 0
        async with await anyio.open_file(part, "wb") as out:
            async for chunk in body:
                size += len(chunk)
                await out.write(chunk)
        await anyio.to_thread.run_sync(os.replace, part, self.path(sink_id))
        await anyio.to_thread.run_sync(
            lambda: self.queries.update_sink(
                sink_id,
                received=size,
                complete=True,
                content_type=content_type or "application/octet-stream",
                now=self.clock(),
            )
        )
        return size

    async def read(self, row: TransferRow) -> Body:
        endpoint = str((row.data_address or {}).get("endpoint", ""))
        sink_id = endpoint.rpartition("/data/sinks/")[2]
        sink = await anyio.to_thread.run_sync(self.queries.sink, sink_id) if sink_id else None
        if sink is None:
            raise NotFound("this push transfer has no sink of ours", code="no_sink")
        if not sink.complete:
            raise Conflict("the provider has not pushed the data yet", code="push_not_received")
        from connector.dataplane.files import open_file
        from connector.dataplane.sources import SourceSpec

        body = await open_file(SourceSpec("file", {"path": str(self.path(sink_id))}), DataRequest())
        body.headers["Content-Type"] = sink.content_type or "application/octet-stream"
        return body


# -- provider: the sender ------------------------------------------------------------------


class PushSender:
    def __init__(
        self,
        plane: Any,  # the DataPlane: opens sources, holds the HTTP client
        store: Store,
        clock: Clock,
        *,
        max_attempts: int = 4,
        base_delay: float = 0.5,
    ) -> None:
        self.plane = plane
        self.store = store
        self.clock = clock
        self.queries: DataPlaneQueries = plane.queries
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.transfers: Any = None  # the TransferService, to complete or terminate
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def enqueue(self, pid: str) -> None:
        """In the loop: a provider push transfer is STARTED."""
        self.plane._spawn(self._enqueue(pid))

    async def _enqueue(self, pid: str) -> None:
        await anyio.to_thread.run_sync(self.queries.enqueue_push, pid, self.clock())
        self.ensure_running()
        self._wake.set()

    def ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="push sender")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            jobs = await anyio.to_thread.run_sync(self.queries.claim_pushes, self.clock(), 600, 8)
            await asyncio.gather(*(self._push(job.transfer_id, job.attempts) for job in jobs))
            if jobs:
                continue
            due = await anyio.to_thread.run_sync(self.queries.next_push_due)
            timeout = 30.0 if due is None else max(0.0, (due - self.clock()).total_seconds())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), min(timeout, 30.0))

    async def _push(self, pid: str, attempt: int) -> None:
        try:
            sent = await self._send(pid)
        except (ConnectorError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            error = f"{exc.__class__.__name__}: {exc}"
            await self._failed(pid, attempt, error)
            return
        if sent is None:  # the transfer is no longer STARTED: nothing to do
            await anyio.to_thread.run_sync(
                lambda: self.queries.finish_push(pid, state="done", now=self.clock())
            )
            return
        await anyio.to_thread.run_sync(
            lambda: self.queries.finish_push(pid, state="done", now=self.clock(), bytes_sent=sent)
        )
        log.info("pushed %d bytes for transfer %s", sent, pid)
        await anyio.to_thread.run_sync(self.transfers.act, pid, TransferEvent.COMPLETION)

    async def _send(self, pid: str) -> int | None:
        snapshot = await anyio.to_thread.run_sync(self.queries.snapshot, pid)
        if snapshot is None or snapshot.state != "STARTED":
            return None
        with self.store.transaction() as tx:
            sink = tx.process(TransferRow, pid).data_address or {}
        props = endpoint_properties(sink)
        endpoint = sink.get("endpoint")
        if not isinstance(endpoint, str) or not endpoint.startswith(("http://", "https://")):
            raise Conflict("the consumer's sink address has no http(s) endpoint")
        from connector.dataplane.plane import Access
        from connector.dataplane.tokens import TransferClaims

        access = Access(
            TransferClaims(pid, snapshot.agreement_id, snapshot.counterparty_did, 0), snapshot
        )
        body = await self.plane.open(access, DataRequest())
        if body.live:
            await _close(body.chunks)
            raise Conflict("a live source cannot be pushed; pull it instead", code="push_live")
        counted = _Counted(body.chunks)
        headers = {"Content-Type": body.headers.get("Content-Type", "application/octet-stream")}
        if props.get("authorization"):
            headers["Authorization"] = f"Bearer {props['authorization']}"
        try:
            async with self.plane.http.session().put(
                endpoint,
                data=counted.chunks(),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=60),
            ) as response:
                if response.status >= 300:
                    raise Conflict(f"the consumer's sink answered {response.status}")
        finally:
            await _close(body.chunks)
        return counted.size

    async def _failed(self, pid: str, attempt: int, error: str) -> None:
        now = self.clock()
        if attempt < self.max_attempts:
            delay = self.base_delay * 2 ** (attempt - 1)
            log.info(
                "push of %s failed (attempt %d), retrying in %.1fs: %s", pid, attempt, delay, error
            )
            await anyio.to_thread.run_sync(
                lambda: self.queries.finish_push(
                    pid,
                    state="pending",
                    now=now,
                    error=error,
                    retry_at=now + timedelta(seconds=delay),
                )
            )
            return
        log.warning("push of %s failed %d times, terminating: %s", pid, attempt, error)
        await anyio.to_thread.run_sync(
            lambda: self.queries.finish_push(pid, state="failed", now=now, error=error)
        )
        with contextlib.suppress(ConnectorError):  # it may have ended meanwhile
            await anyio.to_thread.run_sync(
                lambda: self.transfers.act(
                    pid,
                    TransferEvent.TERMINATION,
                    code="push_failed",
                    reason=f"the push failed {attempt} times; last error: {error[:400]}",
                )
            )


class _Counted:
    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._source = chunks
        self.size = 0

    async def chunks(self) -> AsyncIterator[bytes]:
        async for chunk in self._source:
            self.size += len(chunk)
            yield chunk


async def _close(chunks: AsyncIterator[bytes]) -> None:
    close = getattr(chunks, "aclose", None)
    if close is not None:
        await close()
