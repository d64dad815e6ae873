"""Every data-plane access is an audit entry: who read which transfer's data, how many bytes,
and a SHA-256 of what was delivered where the size allows (not for live streams, which do not
end; not past `MAX_HASHED` bytes).

The entry is written when the body has been sent (or the stream cut), from the `finally` of
the generator that meters it: synchronously, because a cancelled response (the client went
away) cannot await anything any more, and the entry must still be written.
"""

from __future__ import annotations

import hashlib
import logging
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

from connector.dataplane.sources import Body
from connector.dataplane.streaming import aclose
from connector.errors import ConnectorError
from connector.store.audit_records import record_event
from connector.store.dataplane_queries import TransferSnapshot
from connector.store.tables import EventRow

log = logging.getLogger("tsunagu.dataplane")

__all__ = ["MAX_HASHED", "Metered", "metered"]

MAX_HASHED = 1 << 30  # past 1 GiB the digest is left out rather than delaying nothing else

Metered = Callable[[int, str | None, bool], None]  # (bytes, sha256 or None, complete)


def metered(body: Body, record: Metered) -> Body:
    """`body`, whose chunks are counted (and hashed) and `record`ed when they end. A gzip
    body (as a provider sends it to a consumer that accepts it) is counted and hashed as
    the content it carries, so both sides of a transfer measure the same thing."""
    gzip = body.headers.get("Content-Encoding", "").lower() == "gzip"
    chunks = _count(body.chunks, record, hash_it=not body.live, gunzip=gzip)
    return replace(body, chunks=chunks)


def _content(chunk: bytes, inflate: Any) -> Iterator[bytes]:
    """The content of one gzip chunk, a bounded piece at a time (no bomb in memory)."""
    data = inflate.decompress(chunk, 1 << 20)
    while data:
        yield data
        data = inflate.decompress(inflate.unconsumed_tail, 1 << 20)


async def _count(
    chunks: AsyncIterator[bytes], record: Metered, *, hash_it: bool, gunzip: bool
) -> AsyncIterator[bytes]:
    total = 0
    digest = hashlib.sha256() if hash_it else None
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if gunzip else None
    complete = False
    try:
        async for chunk in chunks:
            for content in [chunk] if inflate is None else _content(chunk, inflate):
                total += len(content)
                if digest is not None:
                    if total > MAX_HASHED:
                        digest = None
                    else:
                        digest.update(content)
            yield chunk
        complete = True
    finally:
        try:
            hexdigest = digest.hexdigest() if digest is not None and complete else None
            record(total, hexdigest, complete)
        except ConnectorError as exc:  # a closed store on shutdown: say so, do not mask
            log.warning("data access of %d bytes not recorded: %s", total, exc)
        # `async for` does not close what it iterates: the source's own clean-up (an upstream
        # response released, a token-refresh task stopped) runs only when it is closed.
        await aclose(chunks)


def access_record(
    *,
    at: datetime,
    snapshot: TransferSnapshot,
    peer: str,
    path: str,
    size: int,
    digest: str | None,
    complete: bool,
    started: str,
    push: bool = False,
) -> EventRow:
    """The audit entry of one read or push delivery: the shape the auditor's access check
    (connector/audit) re-decides, so pulls and pushes must not drift apart."""
    details: dict[str, Any] = {
        "agreement": snapshot.agreement_id,
        "dataset": snapshot.dataset_id,
        "path": path,
        "bytes": size,
        "sha256": digest,
        "complete": complete,
        "decision": "allowed",
    }
    if push:
        details["delivery"] = "push"
    details["started"] = started
    return record_event(
        at=at,
        family="data",
        action="access",
        subject=snapshot.transfer_id,
        peer=peer,
        details=details,
    )
