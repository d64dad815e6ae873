"""Consent on the data plane: a personal dataset releases only its consenting subjects' rows.

Per access of a personal dataset (its subject field comes with the transfer snapshot): the
agreement's consent scope (`policies.consent_scope`), then one query for the subjects whose
consent covers it at this instant (`ConsentQueries.consenting_since`), then the source's rows
filtered on the way out (`consent_rows`).

The answer is kept per (dataset, purposes, recipients) with the consent version it was read
at: the next access reads that one number and reuses the subjects only while it is unchanged
(every change of grants, in any process sharing the database, grows it in its own
transaction) and no grant has started since. Each subject's end of cover is checked at each
access against the clock, so a withdrawal still takes effect on the very next access, and a
validity window ends on time. Only the decision is kept, never the data.

A live stream holds its subject set for as long as it runs: a change of consent in this
process removes a withdrawn subject at once and then re-reads the set; every
`refresh_seconds` all open live sets are re-read as well (changes made by another process
sharing the database, and purposes newly given).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import anyio

from connector.dataplane.consent_rows import Allowed
from connector.store.consent_queries import ConsentQueries
from connector.store.dataplane_queries import TransferSnapshot
from policies.consent import ConsentRecord, ConsentScope, lineage
from policies.consent_scope import agreement_scope
from policies.purposes import PurposeTree, vocabulary_purposes

log = logging.getLogger("tsunagu.dataplane")

KEPT_DECISIONS = 64  # (dataset, purposes, recipients) answers kept per process

Key = tuple[str, tuple[frozenset[str], ...], frozenset[str]]


@dataclass(frozen=True)
class Decision:
    """One answer of the store, valid while the consent version is `version` and the clock
    is within [`read_at`, `next_start`)."""

    version: int
    read_at: datetime
    next_start: datetime | None
    subjects: dict[str, datetime | None]  # never changed once kept: readers share it
    everyone: frozenset[str]  # all of `subjects`: covered together until `first_end`
    first_end: datetime | None

    def holds(self, version: int | None, now: datetime) -> bool:
        return (
            version == self.version
            and self.read_at <= now
            and (self.next_start is None or now < self.next_start)
        )


class LiveSubjects(Allowed):
    """The consenting subjects of one live stream, kept current."""

    def __init__(
        self,
        snapshot: TransferSnapshot,
        scope: ConsentScope,
        subjects: dict[str, datetime | None],
        clock: Any,
    ) -> None:
        super().__init__(subjects, clock)
        self.snapshot = snapshot
        self.scope = scope
        # Bumped by every change made here (a removal, an addition), so a re-read begun
        # before it is dropped: it would put back a withdrawn subject, or drop one just added.
        self.generation = 0

    def discard(self, subject: str) -> None:
        self.generation += 1
        super().discard(subject)

    def add(self, subject: str, until: datetime | None) -> None:
        self.generation += 1
        self.subjects[subject] = until


class ConsentGate:
    def __init__(
        self,
        queries: ConsentQueries,
        clock: Callable[[], datetime],
        *,
        purposes: Callable[[], PurposeTree | None] = vocabulary_purposes,
        refresh_seconds: float = 1.0,
    ) -> None:
        self.queries = queries
        self.clock = clock
        self._purposes = purposes  # read on first use: loading the vocabulary takes a moment
        self.refresh_seconds = refresh_seconds
        self._kept: OrderedDict[Key, Decision] = OrderedDict()
        self._kept_lock = threading.Lock()  # subjects() runs in worker threads
        self._live: weakref.WeakSet[LiveSubjects] = weakref.WeakSet()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    @staticmethod
    def scope(snapshot: TransferSnapshot) -> ConsentScope:
        return agreement_scope(
            snapshot.policy, recipient=snapshot.counterparty_did, dataset=snapshot.dataset_id
        )

    def subjects(self, snapshot: TransferSnapshot) -> dict[str, datetime | None]:
        """Blocking: the consenting subjects of an access under this transfer, now (a fresh
        dict: the caller may change it)."""
        decision = self.decision(snapshot)
        return dict(decision.subjects) if decision is not None else {}

    def _key(self, snapshot: TransferSnapshot) -> Key | None:
        """What answers are kept by; None where no consent can cover the access."""
        scope = self.scope(snapshot)
        if not scope.purposes or snapshot.dataset_id is None:
            return None  # an agreement for any purpose: no consent covers it
        purposes = tuple(lineage(p, self._purposes()) for p in sorted(scope.purposes))
        return (snapshot.dataset_id, purposes, frozenset(scope.recipients))

    def _holding(self, key: Key, version: int | None, now: datetime) -> Decision | None:
        with self._kept_lock:
            kept = self._kept.get(key)
        return kept if kept is not None and kept.holds(version, now) else None

    def decision(self, snapshot: TransferSnapshot) -> Decision | None:
        """Blocking: the store's answer for an access now; None where no consent can cover
        it. One small read (the consent version) when the kept answer still holds."""
        key = self._key(snapshot)
        if key is None:
            return None
        now = self.clock()
        kept = self._holding(key, self.queries.version(), now)
        if kept is not None:
            return kept
        dataset, purposes, recipients = key
        answer = self.queries.consenting_since(
            dataset_id=dataset, purposes=list(purposes), recipients=recipients, now=now
        )
        ends = [until for until in answer.subjects.values() if until is not None]
        decision = Decision(
            version=answer.version if answer.version is not None else -1,
            read_at=now,
            next_start=answer.next_start,
            subjects=answer.subjects,
            everyone=frozenset(answer.subjects),
            first_end=min(ends) if ends else None,
        )
        if answer.version is not None:  # without the version row nothing can be kept
            with self._kept_lock:
                self._kept[key] = decision
                self._kept.move_to_end(key)
                while len(self._kept) > KEPT_DECISIONS:
                    self._kept.popitem(last=False)
        return decision

    async def allowed(self, snapshot: TransferSnapshot, *, version: int | None = None) -> Allowed:
        """The consenting subjects of an access now. `version`: the consent version read for
        this access (with its transfer snapshot); while the kept answer holds at it, nothing
        is read and no worker thread is needed."""
        decision: Decision | None = None
        if version is not None:
            key = self._key(snapshot)
            if key is None:
                return Allowed({}, self.clock)
            decision = self._holding(key, version, self.clock())
        if decision is None:
            decision = await anyio.to_thread.run_sync(self.decision, snapshot)
        if decision is None:
            return Allowed({}, self.clock)
        return Allowed(
            decision.subjects, self.clock, everyone=decision.everyone, until=decision.first_end
        )

    async def live(self, snapshot: TransferSnapshot) -> LiveSubjects:
        subjects = LiveSubjects(
            snapshot,
            self.scope(snapshot),
            await anyio.to_thread.run_sync(self.subjects, snapshot),
            self.clock,
        )
        self._live.add(subjects)
        self._loop = asyncio.get_running_loop()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._refresh_forever(), name="consent refresh")
        return subjects

    # -- keeping live sets current ---------------------------------------------------------

    def changed(self, record: ConsentRecord, *, withdrawn: bool) -> None:
        """Thread-safe: `record` was just given or withdrawn in this process."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(self._react, record, withdrawn)

    def _react(self, record: ConsentRecord, withdrawn: bool) -> None:
        """At once, before the next reading: a withdrawn subject leaves every live set (the
        re-read that follows adds it back where another consent still covers it); a given
        consent joins the sets it covers."""
        now = self.clock()
        for live in list(self._live):
            if withdrawn:
                live.discard(record.subject)
            elif record.covers(live.scope, now, self._purposes()):
                live.add(
                    record.subject,
                    _later(live.subjects.get(record.subject, now), record.valid_until),
                )
        task = asyncio.ensure_future(self.refresh())
        task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)

    async def refresh(self) -> None:
        for live in list(self._live):
            generation = live.generation
            try:
                fresh = await anyio.to_thread.run_sync(self.subjects, live.snapshot)
            except Exception as exc:  # the store hiccupped: keep the set, retry next round
                log.warning("consent: cannot re-read a live stream's subjects: %s", exc)
                continue
            if live.generation == generation:
                live.subjects = fresh

    async def _refresh_forever(self) -> None:
        while self._live:
            await asyncio.sleep(self.refresh_seconds)
            await self.refresh()

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return None if a is None or b is None else max(a, b)
