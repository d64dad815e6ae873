"""The consumer's sinks: where a provider pushes the data of a push transfer.

A sink is an endpoint of the consumer's own connector guarded by a random token it issued; the
consumer names it in its transfer request, and what arrives is written to
`<participant dir>/received/<sink id>` (streamed, never held whole in memory):

    PUT  /data/sinks/<id>   a finite push: the whole body, which replaces what came before (a
                            push that is resumed or retried is sent again from the start). A
                            body cut off mid-way (the transfer was suspended) leaves nothing.
    POST /data/sinks/<id>   a live push: one batch of readings as NDJSON, appended. A batch is
                            written whole or not at all, so the file is always whole lines.

The operator reads the file with `GET /management/transfers/<id>/data`: a finite push once it
has arrived, a live one with whatever has arrived so far.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import uuid
from collections.abc import AsyncIterable
from pathlib import Path
from typing import Any

import anyio
from starlette.requests import ClientDisconnect

from connector.clock import Clock
from connector.dataplane.addresses import HTTP_ENDPOINT_TYPE
from connector.dataplane.errors import AccessDenied, BatchTooLarge, PushAborted, TokenRejected
from connector.dataplane.files import open_file
from connector.dataplane.sources import Body, DataRequest, SourceSpec
from connector.dataplane.tokens import bearer, token_hash
from connector.errors import Conflict, NotFound
from connector.store.dataplane_queries import DataPlaneQueries
from connector.store.dataplane_tables import PushSinkRow
from connector.store.tables import TransferRow

NDJSON = "application/x-ndjson"
MAX_BATCH = 4 << 20  # one POST of a live push: a batch of readings, not a file


class Sinks:
    def __init__(
        self, queries: DataPlaneQueries, clock: Clock, *, directory: Path, public_url: str
    ) -> None:
        self.queries = queries
        self.clock = clock
        self.directory = directory / "received"
        self.public_url = public_url.rstrip("/")

    def new_address(self, transfer_id: str | None = None) -> dict[str, Any]:
        """A sink of ours, as the data address of a push transfer request; tied to our
        `transfer_id`, it takes data only while that transfer is STARTED."""
        sink_id = uuid.uuid4().hex
        token = secrets.token_urlsafe(32)
        now = self.clock()
        self.queries.add_sink(
            PushSinkRow(
                id=sink_id,
                transfer_id=transfer_id,
                token_hash=token_hash(token),
                created_at=now,
                updated_at=now,
            )
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

    async def _admit(self, sink_id: str, authorization: str | None) -> PushSinkRow:
        sink = await anyio.to_thread.run_sync(self.queries.sink, sink_id)
        presented = bearer(authorization)
        if sink is None or not secrets.compare_digest(token_hash(presented), sink.token_hash):
            raise TokenRejected("this sink does not take that token", code="sink_token_invalid")
        if sink.transfer_id is not None:
            # Our side decides too: a provider that ignores a suspension is still refused.
            # Data after our own START (a resume) is fine: the provider acts on a message
            # our runner may not have recorded as delivered yet.
            found = await anyio.to_thread.run_sync(self.queries.transfer_state, sink.transfer_id)
            state, pending = found if found is not None else ("gone", None)
            if state != "STARTED" and pending != "START":
                raise AccessDenied(
                    f"the transfer is {state}: this sink takes no data now",
                    code="transfer_not_started",
                )
        await anyio.to_thread.run_sync(lambda: self.directory.mkdir(parents=True, exist_ok=True))
        return sink

    async def receive(
        self,
        sink_id: str,
        authorization: str | None,
        content_type: str | None,
        body: AsyncIterable[bytes],
    ) -> int:
        """A finite push (PUT): write it to disk; the previous one (a retry) is replaced whole."""
        await self._admit(sink_id, authorization)
        part = self.path(sink_id).with_suffix(".part")
        size = 0
        digest = hashlib.sha256()
        try:
            async with await anyio.open_file(part, "wb") as out:
                async for chunk in body:
                    size += len(chunk)
                    digest.update(chunk)
                    await out.write(chunk)
        except ClientDisconnect:
            # The provider cut the push (a suspension): a partial body must not look whole.
            await anyio.to_thread.run_sync(lambda: part.unlink(missing_ok=True))
            raise PushAborted(f"the push was cut off after {size} bytes") from None
        await anyio.to_thread.run_sync(os.replace, part, self.path(sink_id))
        await anyio.to_thread.run_sync(
            lambda: self.queries.sink_filled(
                sink_id,
                size=size,
                digest=digest.hexdigest(),
                content_type=content_type or "application/octet-stream",
                now=self.clock(),
            )
        )
        return size

    async def append(
        self, sink_id: str, authorization: str | None, body: AsyncIterable[bytes]
    ) -> int:
        """A batch of a live push (POST): appended whole, or not at all."""
        sink = await self._admit(sink_id, authorization)
        parts: list[bytes] = []
        size = 0
        try:
            async for chunk in body:
                size += len(chunk)
                if size > MAX_BATCH:
                    raise BatchTooLarge(f"a batch of readings may hold at most {MAX_BATCH} bytes")
                parts.append(chunk)
        except ClientDisconnect:
            raise PushAborted("the batch was cut off") from None
        batch = b"".join(parts)
        if batch and not batch.endswith(b"\n"):
            batch += b"\n"  # whole lines, whatever the sender did
        async with await anyio.open_file(self.path(sink_id), "ab") as out:
            await out.write(batch)
        total = sink.received_bytes + len(batch)
        await anyio.to_thread.run_sync(
            lambda: self.queries.update_sink(
                sink_id, received=total, content_type=NDJSON, now=self.clock()
            )
        )
        return total

    async def read(self, row: TransferRow) -> Body:
        endpoint = str((row.data_address or {}).get("endpoint", ""))
        sink_id = endpoint.rpartition("/data/sinks/")[2]
        sink = await anyio.to_thread.run_sync(self.queries.sink, sink_id) if sink_id else None
        if sink is None:
            raise NotFound("this push transfer has no sink of ours", code="no_sink")
        path = self.path(sink_id)
        if not await anyio.to_thread.run_sync(path.is_file):
            raise Conflict("the provider has not pushed the data yet", code="push_not_received")
        body = await open_file(SourceSpec("file", {"path": str(path)}), DataRequest())
        body.headers["Content-Type"] = sink.content_type or "application/octet-stream"
        return body
