"""The outbound runner: sends what we owe peers, with leases, retries and backoff.

Rows whose `pending` message is due are leased (so several processes sharing one PostgreSQL
database never send the same message twice at once), sent outside any transaction, and then
recorded as done, to be retried after a bounded exponential backoff, or failed. Progress is
event-driven: services call `wake()` after every commit that creates work, so a LAN
negotiation finishes in milliseconds; an idle runner only wakes every `idle_seconds` to pick
up work whose lease another (crashed) process let lapse.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from connector.clock import Clock
from connector.control.dispatcher import Dispatcher, PeerRejected
from connector.control.holds import PEER_NOT_FOUND, start_hold
from connector.control.process import INITIAL, clear_pending, schedule
from connector.control.reconcile import ask_peer
from connector.errors import ConnectorError
from connector.outbound import OutboundRefused
from connector.store.store import Store
from connector.store.tables import EventRow

log = logging.getLogger("tsunagu.runner")


@dataclass(frozen=True)
class _Outgoing:
    row: Any
    url: str
    body: dict[str, Any]
    error: ConnectorError | None  # building the message failed


class OutboundService(Protocol):
    def outbound(self, row: Any) -> tuple[str, dict[str, Any]]: ...
    def on_sent(self, pid: str, pending: str, response: dict[str, Any] | None) -> None: ...


class Runner:
    def __init__(
        self,
        store: Store,
        dispatcher: Dispatcher,
        clock: Clock,
        services: dict[type[Any], OutboundService],
        *,
        owner: str | None = None,
        lease_seconds: float = 15.0,  # > the dispatcher's 10 s total timeout for one send
        batch: int = 32,
        max_attempts: int = 8,
        base_delay: float = 0.25,
        max_delay: float = 60.0,
        idle_seconds: float = 5.0,
        max_in_flight: int = 64,
        on_change: Callable[[str], None] = lambda _pid: None,
    ) -> None:
        self.store = store
        self.dispatcher = dispatcher
        self.clock = clock
        self.services = services
        # A named owner is a place that outlives the process (`tsunagu serve` uses host and
        # port): leases under that name when we start were our crashed predecessor's, and are
        # freed at once instead of lapsing. Unnamed runners take a random name.
        self.owner = owner or f"runner-{uuid.uuid4().hex[:12]}"
        self.reclaim = owner is not None
        self.lease_seconds = lease_seconds
        self.batch = batch
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.idle_seconds = idle_seconds
        self.max_in_flight = max_in_flight
        self.on_change = on_change  # a failed or retried send is a change operators wait on
        self.on_hold: Callable[[Any], None] | None = None  # a 404 held for the operator
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._running = False
        self._in_flight: set[asyncio.Task[None]] = set()

    # -- waking and hand-over ------------------------------------------------------------

    def wake(self) -> None:
        """Thread-safe: there may be due work nobody holds (the runner looks in the store)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(self._wake.set)

    def lease(self, now: datetime) -> tuple[str, datetime] | None:
        """The lease a service writes with a message it schedules, while we run: the row is
        then ours from its first commit and comes to us through `take`, with no trip to the
        store. None when not running (tests step `run_once`, which claims from the store)."""
        if not self._running or self._stopping:
            return None
        return self.owner, now + timedelta(seconds=self.lease_seconds)

    def take(self, kind: type[Any], row: Any) -> None:
        """Thread-safe: send `row.pending` now; `row` was committed with our lease."""
        loop = self._loop
        if row.lease_owner != self.owner or loop is None or loop.is_closed():
            return  # not ours: whoever holds it sends it, or its lease lapses
        loop.call_soon_threadsafe(self._start, kind, row)

    def _start(self, kind: type[Any], row: Any) -> None:
        if self._stopping:
            return  # the lease lapses and a later run sends it
        service = self.services[kind]
        self._spawn(self._send(kind, service, self._outgoing(service, row)))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    def stop(self) -> None:
        self._stopping = True
        self.wake()

    async def run_forever(self) -> None:
        """Send what services hand over at once (`take`), and look in the store for the rest
        (retries that fall due, leases another process let lapse) when woken, when the
        earliest known retry is due, and every `idle_seconds`. Each message is sent as its own
        task, so a new message never queues behind a slow peer."""
        self._loop = asyncio.get_running_loop()
        if self.reclaim:  # before any lease of ours is handed out in this run
            try:
                freed = await self.release()
            except ConnectorError as exc:
                log.warning("runner: could not free leases of a previous run: %s", exc)
            else:
                if freed:
                    log.info(
                        "runner: freed %d lease(s) a previous run of %s held", freed, self.owner
                    )
        self._running = True
        try:
            while not self._stopping:
                self._wake.clear()
                try:
                    claimed, timeout = 0, self.idle_seconds
                    for kind, service in self.services.items():
                        batch, due_in = await self.store.call(self._claim, kind, service, True)
                        claimed += len(batch)
                        timeout = min(timeout, due_in)
                        for item in batch:
                            self._spawn(self._send(kind, service, item))
                    if claimed >= self.batch:
                        continue  # there may be more
                except ConnectorError as exc:  # a broken database must not kill the loop
                    log.warning("runner: %s", exc)
                    timeout = self.idle_seconds
                while len(self._in_flight) > self.max_in_flight and not self._wake.is_set():
                    await asyncio.wait(set(self._in_flight), return_when=asyncio.FIRST_COMPLETED)
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout)
                except TimeoutError:
                    pass
        finally:
            self._running = False
            tasks = list(self._in_flight)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def release(self) -> int:
        """On a clean shutdown: hand back what we hold but did not send, so a peer process on
        the same database sends it now rather than after the lease lapses."""
        released = 0
        for kind in self.services:
            released += await self.store.call(self._release, kind)
        return released

    def _release(self, kind: type[Any]) -> int:
        with self.store.transaction() as tx:
            return tx.release_leases(kind, self.owner)

    # -- one pass ---------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Send every message that is due now; returns how many rows were processed."""
        self._loop = self._loop or asyncio.get_running_loop()
        processed = 0
        for kind, service in self.services.items():
            batch, _due_in = await self.store.call(self._claim, kind, service, False)
            processed += len(batch)
            await asyncio.gather(*(self._send(kind, service, item) for item in batch))
        return processed

    def _claim(
        self, kind: type[Any], service: OutboundService, with_next: bool
    ) -> tuple[list[_Outgoing], float]:
        """Lease what is due and build each message; with `with_next`, also how many seconds
        until the next known retry falls due (one transaction for both)."""
        now = self.clock()
        with self.store.transaction() as tx:
            rows = tx.claim_due(
                kind,
                owner=self.owner,
                now=now,
                lease_seconds=self.lease_seconds,
                limit=self.batch,
            )
            due = tx.next_due(kind, now=now) if with_next else None
        due_in = self.idle_seconds if due is None else (due - now).total_seconds()
        return [self._outgoing(service, row) for row in rows], max(0.0, due_in)

    @staticmethod
    def _outgoing(service: OutboundService, row: Any) -> _Outgoing:
        try:
            url, body = service.outbound(row)
        except ConnectorError as exc:
            return _Outgoing(row, "", {}, exc)
        return _Outgoing(row, url, body, None)

    async def _send(self, kind: type[Any], service: OutboundService, item: _Outgoing) -> None:
        row, pending = item.row, item.row.pending
        try:
            if item.error is not None:
                raise item.error
            response = await self.dispatcher.send(
                item.url, item.body, audience=row.counterparty_did
            )
            await self.store.call(service.on_sent, row.id, pending, response)
        except PeerRejected as exc:
            if exc.peer_status == 404 and pending != "TERMINATION":
                # The peer does not know the process: sending again would not help, and ending
                # it would hide that from the operator. Held for the operator to decide.
                log.info("%s %s: %s answered 404: held", kind.__tablename__, row.id, pending)
                notice = await self.store.call(self._not_found, kind, row.id, pending, str(exc))
                self.on_change(row.id)
                if notice is not None and self.on_hold is not None:
                    self.on_hold(notice)
                return
            if exc.peer_status != 400 or row.peer_pid is None:
                await self._refused(kind, row, pending, exc)
                return
            await self._reconcile(kind, service, row, pending, exc)
        except OutboundRefused as exc:
            await self._refused(kind, row, pending, exc)
        except ConnectorError as exc:
            await self._retry_later(kind, row, pending, exc)

    async def _reconcile(
        self, kind: type[Any], service: OutboundService, row: Any, pending: str, exc: PeerRejected
    ) -> None:
        """A 400 may answer a message the peer took before (we crashed before recording its
        acknowledgement): ask the peer where the process stands before giving up."""
        try:
            outcome = await ask_peer(self.dispatcher, kind, row, pending)
        except ConnectorError as unreachable:  # ask again later; the message is still owed
            await self._retry_later(kind, row, pending, unreachable)
            return
        if not outcome.adopt:
            await self._refused(kind, row, pending, PeerRejected(outcome.reason(str(exc))))
            return
        log.info(
            "%s %s: the peer already has %s (it is %s): adopted",
            kind.__tablename__,
            row.id,
            pending,
            outcome.peer_state,
        )
        try:
            await self.store.call(service.on_sent, row.id, pending, None)
        except ConnectorError as failed:
            await self._retry_later(kind, row, pending, failed)

    async def _refused(
        self, kind: type[Any], row: Any, pending: str, exc: PeerRejected | OutboundRefused
    ) -> None:
        """Final: the peer refused, or the address may not be contacted; retrying changes
        neither."""
        log.info("%s %s: %s rejected: %s", kind.__tablename__, row.id, pending, exc)
        # a peer's refusal quotes its answer; ours says which rule refused
        error = str(exc) if isinstance(exc, PeerRejected) else f"{exc.code}: {exc}"
        await self.store.call(self._failed, kind, row.id, pending, error)
        self.on_change(row.id)
        self.wake()  # the termination it may have scheduled is due now

    async def _retry_later(
        self, kind: type[Any], row: Any, pending: str, exc: ConnectorError
    ) -> None:
        log.info("%s %s: %s will be retried: %s", kind.__tablename__, row.id, pending, exc)
        await self.store.call(self._retry, kind, row.id, pending, str(exc))
        self.on_change(row.id)

    def _not_found(self, kind: type[Any], pid: str, pending: str, error: str) -> Any:
        now = self.clock()
        with self.store.transaction() as tx:
            row = tx.process(kind, pid)
            if row.pending != pending:
                return None
            row.last_error = error[:2000]
            if row.state == INITIAL:  # our first message: the peer never had the process
                self._give_up(tx, row, pending, now, error)
                tx.add(row)
                return None
            detail = {
                "message": pending,
                "pending_detail": row.pending_detail,
                "error": error[:500],
            }
            clear_pending(row)
            notice = start_hold(tx, row, kind.__tablename__, PEER_NOT_FOUND, now, detail)
            tx.add(row)
            return notice

    def _retry(self, kind: type[Any], pid: str, pending: str, error: str) -> None:
        now = self.clock()
        with self.store.transaction() as tx:
            row = tx.process(kind, pid)
            if row.pending != pending:
                return
            row.attempts += 1
            row.last_error = error[:2000]
            row.lease_owner = row.lease_until = None
            if row.attempts >= self.max_attempts:
                self._give_up(
                    tx, row, pending, now, f"gave up after {row.attempts} attempts: {error}"
                )
            else:
                delay = min(self.max_delay, self.base_delay * 2 ** (row.attempts - 1))
                row.next_attempt_at = now + timedelta(seconds=delay)
            tx.add(row)

    def _failed(self, kind: type[Any], pid: str, pending: str, error: str) -> None:
        now = self.clock()
        with self.store.transaction() as tx:
            row = tx.process(kind, pid)
            if row.pending != pending:
                return
            row.last_error = error[:2000]
            self._give_up(tx, row, pending, now, error)
            tx.add(row)

    def _give_up(self, tx: Any, row: Any, pending: str, now: datetime, error: str) -> None:
        """A message cannot be delivered. Both sides must agree on the state, so we tell the
        peer we terminate (unless that is what failed, or the peer never heard of the process)
        and otherwise end the process locally."""
        if pending != "TERMINATION" and row.state != INITIAL:
            schedule(row, "TERMINATION", now, {"code": "delivery_failed", "reason": [error[:500]]})
            row.last_error = error[:2000]
            # Free for the next pass at once (the caller wakes us), not when the lease lapses.
            row.lease_owner = row.lease_until = None
            return
        tx.add(
            EventRow(
                at=now,
                process=type(row).__tablename__,
                process_id=row.id,
                role=row.role,
                direction="local",
                message="TERMINATION",
                from_state=None if row.state == INITIAL else row.state,
                to_state="TERMINATED",
                peer_did=row.counterparty_did,
                detail={"error": error[:500]},
            )
        )
        row.state = "TERMINATED"
        row.updated_at = now
        clear_pending(row)
        row.last_error = error[:2000]
