"""Bytes moved per transfer, tallied from the audit log's data reads.

Every read through the data plane leaves an audit entry with its size: `data.access` on the
provider (what it sent), `data.received` on the consumer (what it got). The tally reads only
the entries appended since it last looked, so a page load costs the new entries, not the log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from connector.console.backend import Backend

KINDS = frozenset({"data.access", "data.received"})
PAGE = 1000  # the audit API's largest page


@dataclass
class Moved:
    bytes: int = 0
    reads: int = 0


@dataclass
class BytesMoved:
    backend: Backend
    _seen: int = 0  # entries below this sequence number are tallied
    _by_transfer: dict[str, Moved] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def catch_up(self) -> Mapping[str, Moved]:
        async with self._lock:
            while True:
                page = await self.backend.call(
                    "GET", "/audit/entries", params={"start": self._seen, "limit": PAGE}
                )
                for item in page["entries"]:
                    self._count(item.get("entry"))
                    self._seen = int(item["seq"]) + 1
                if page.get("next") is None:
                    return dict(self._by_transfer)

    def _count(self, entry: Any) -> None:
        if not isinstance(entry, Mapping) or entry.get("kind") not in KINDS:
            return
        details = entry.get("details")
        size = details.get("bytes") if isinstance(details, Mapping) else None
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            return
        moved = self._by_transfer.setdefault(str(entry.get("subject")), Moved())
        moved.bytes += size
        moved.reads += 1


def human(size: int) -> str:
    """A byte count as people read it: 320 B, 1.5 MB."""
    if size < 1000:
        return f"{size} B"
    value = size / 1000
    for unit in ("KB", "MB", "GB"):
        if value < 1000:
            return f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"
