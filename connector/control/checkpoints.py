"""Checkpoints on a schedule: every `seconds` (when the log grew), or once `entries` new
entries are in (`[audit] checkpoint_seconds` / `checkpoint_entries`); on demand through
the audit API besides. A checkpoint is signed once per size, so several connector processes
on one database sharing the schedule sign each size once."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from connector.audit.checkpoint import Checkpoint, origin_for, sign_checkpoint
from connector.clock import Clock
from connector.errors import ConnectorError
from connector.identity.keys import KeyRing, SigningKey
from connector.store.audit_log import AuditQueries, Checkpointed
from connector.store.store import Store

log = logging.getLogger("tsunagu.checkpoints")

__all__ = ["CheckpointSchedule", "checkpoint_now", "signing_key"]


def signing_key(keys: KeyRing, announced: str | None) -> SigningKey:
    """The key checkpoints are signed with: the one the log's last `key.rotated` entry made
    active (`announced`), while it is still published; else the ring's active key. So between
    `keys rotate` changing the key files and its entry landing, checkpoints keep the key the
    log announces (an auditor holds each checkpoint to the key announced below its size)."""
    if announced is not None:
        for key in keys.published():
            if key.kid == announced:
                return key
    return keys.active


def checkpoint_now(keys: KeyRing, did: str, queries: AuditQueries, now: datetime) -> Checkpointed:
    """Sign the log's current size (once per size) with `signing_key`, chosen under the head
    lock: a rotation committing at the same moment cannot fall between the two reads."""
    origin = origin_for(did)

    def sign(size: int, root: bytes, announced: str | None) -> str:
        return sign_checkpoint(Checkpoint(origin, size, root), signing_key(keys, announced))

    return queries.make_checkpoint(sign, now, key_owner=did)


class CheckpointSchedule:
    def __init__(
        self,
        store: Store,
        keys: KeyRing,
        clock: Clock,
        *,
        own_did: str,
        seconds: float = 0.0,
        entries: int = 0,
        poll_seconds: float = 1.0,
    ) -> None:
        self.queries = AuditQueries(store)
        self.store = store
        self.keys = keys
        self.clock = clock
        self.origin = origin_for(own_did)
        self.own_did = own_did
        self.seconds = seconds
        self.entries = entries
        self.poll = min(poll_seconds, seconds) if seconds > 0 else poll_seconds
        self._stopping = asyncio.Event()

    @property
    def enabled(self) -> bool:
        return self.seconds > 0 or self.entries > 0

    def due(self) -> bool:
        """Whether the log has grown past the last checkpoint by the schedule's measure."""
        size = self.queries.size()
        latest = self.queries.latest_checkpoint()
        if latest is None:
            return size > 0
        grown = size - latest.size
        if grown <= 0:
            return False
        if self.entries and grown >= self.entries:
            return True
        return bool(
            self.seconds
            and (self.clock() - _aware(latest.created_at)).total_seconds() >= self.seconds
        )

    def sign_now(self) -> int:
        return checkpoint_now(self.keys, self.own_did, self.queries, self.clock()).size

    def run_once(self) -> int | None:
        """Sign a checkpoint if one is due; its size, or None."""
        return self.sign_now() if self.due() else None

    def stop(self) -> None:
        self._stopping.set()

    async def run_forever(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.store.call(self.run_once)
            except ConnectorError as exc:  # a damaged log refuses to sign: say so, go on
                log.warning("checkpoints: %s", exc)
            try:
                await asyncio.wait_for(self._stopping.wait(), self.poll)
            except TimeoutError:
                pass


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)
