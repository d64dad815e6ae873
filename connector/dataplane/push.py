"""Push transfers, provider side: stream the dataset into the consumer's sink.

A push follows its transfer's state (`sync`, called by the data plane after every committed
change of a provider push transfer):

* STARTED: a job is owed (`push_job`); the sender loop claims it (a lease, so one process of
  several sharing a database sends it) and runs one task per transfer.
* anything else: the running task is cancelled on the spot — the in-flight upload is aborted,
  no byte goes out after the transition — and the job is `stopped`.
* STARTED again (resumed): a `stopped` job is owed again. A finite push is sent again from the
  start (the sink replaces what it had); a live push subscribes anew and carries the readings
  that arrive from then on (none are queued while the transfer is suspended).

What is sent is what a plain read of the pull endpoint would return, except that a live source
(MQTT, or HTTP with `live`) is always read live:

* finite: one chunked `PUT` of the body; when the sink has taken it all the provider sends the
  completion message (job `done`);
* live: one `POST` per batch of readings as NDJSON (a batch is whatever queued up since the
  last one, up to 100 readings), until the transfer is suspended, completed or terminated.

Every delivery (each start or resume) is one access under the agreement: its time window and
revocation are checked and an access-count limit counted, and when it ends (delivered, failed
or cut) it is a `data.access` audit entry like a pull read's, with the bytes sent and, for a
finite body delivered whole, their SHA-256; a delivery the agreement no longer
allows terminates the transfer with that reason. A failed upload (or batch) is retried with
exponential backoff (0.5 s, 1 s, 2 s); after `max_attempts` failures in a row the transfer is
terminated with code `push_failed` and the last error, which both sides see in its history.
A sink the outbound policy refuses (connector/outbound) is not retried: the transfer is
terminated at once with code `outbound_address_refused`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import aiohttp
import anyio

from connector.audit.entries import format_time
from connector.clock import Clock
from connector.dataplane.access import AccessPolicy, AccessVerdict
from connector.dataplane.addresses import endpoint_properties
from connector.dataplane.errors import PushFailed
from connector.dataplane.metering import MAX_HASHED, access_record
from connector.dataplane.reading import Access, SourceReader
from connector.dataplane.sinks import NDJSON
from connector.dataplane.sources import DataRequest, parse_source
from connector.dataplane.streaming import aclose
from connector.dataplane.tokens import TransferClaims
from connector.errors import Conflict, ConnectorError
from connector.outbound import OutboundPolicy, OutboundRefused, PeerSession
from connector.protocol.formats import PUSH
from connector.protocol.roles import Role
from connector.protocol.transfer import TransferEvent
from connector.store.dataplane_queries import DataPlaneQueries, TransferSnapshot
from connector.store.store import Store
from connector.store.tables import TransferRow

log = logging.getLogger("tsunagu.dataplane")
T = TypeVar("T")
LEASE_SECONDS = 600  # renewed by our own loop while the push runs
RETRY_DEFECT = timedelta(minutes=1)
_RETRYABLE = (ConnectorError, aiohttp.ClientError, OSError, TimeoutError)


class _Sink:
    """Where a push goes: the consumer's endpoint and the headers it wants."""

    def __init__(self, address: dict[str, Any], outbound: OutboundPolicy) -> None:
        endpoint = address.get("endpoint")
        if not isinstance(endpoint, str) or not endpoint.startswith(("http://", "https://")):
            raise Conflict("the consumer's sink address has no http(s) endpoint")
        outbound.check_url(endpoint, what="the consumer's sink")
        self.endpoint = endpoint
        token = endpoint_properties(address).get("authorization")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}


class PushSender:
    def __init__(
        self,
        reader: SourceReader,
        policy: AccessPolicy,
        queries: DataPlaneQueries,
        store: Store,
        clock: Clock,
        *,
        peers: PeerSession,
        outbound: OutboundPolicy,
        max_attempts: int = 4,
        base_delay: float = 0.5,
    ) -> None:
        self.reader = reader
        self.peers = peers  # the consumers' sinks are addresses a peer gave us
        self.outbound = outbound
        self.policy = policy
        self.store = store
        self.clock = clock
        self.queries = queries
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.transfers: Any = None  # the TransferService, to complete or terminate
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._running: dict[str, asyncio.Task[None]] = {}
        self._cuts: dict[str, str] = {}  # why a running push is being cut, by transfer id
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def running(self) -> list[str]:
        """Transfers whose push runs in this process now."""
        return list(self._running)

    def _lock(self, pid: str) -> asyncio.Lock:
        """One lock per transfer while anyone holds it (changes of one push never interleave)."""
        lock = self._locks.get(pid)
        if lock is None:
            lock = self._locks[pid] = asyncio.Lock()
        return lock

    # -- following the transfer's state -------------------------------------------------------

    async def sync(self, pid: str) -> None:
        """Bring the push of `pid` in line with its transfer's state, read afresh (so that
        notifications handled out of order still end in the right place)."""
        async with self._lock(pid):
            snapshot = await anyio.to_thread.run_sync(self.queries.snapshot, pid)
            if snapshot is None or snapshot.role != Role.PROVIDER or snapshot.format != PUSH:
                return
            if snapshot.state == "STARTED":
                await self._arm(pid)
            else:
                await self._cut(pid, f"the transfer is {snapshot.state}")

    async def _arm(self, pid: str) -> None:
        now = self.clock()
        if not await anyio.to_thread.run_sync(self.queries.enqueue_push, pid, now):
            job = await anyio.to_thread.run_sync(self.queries.push_job, pid)
            if job is None or job.state != "stopped":
                return  # owed already, or delivered (a finite push is delivered once)
            await anyio.to_thread.run_sync(
                lambda: self.queries.finish_push(pid, state="pending", now=now, retry_at=now)
            )
        self.ensure_running()
        self._wake.set()

    async def _cut(self, pid: str, reason: str) -> None:
        task = self._running.get(pid)
        if task is not None and not task.done():
            self._cuts[pid] = reason
            task.cancel()  # aborts the upload where it is; the task records the job stopped
            await asyncio.wait({task})
            log.info("push of %s cut: %s", pid, reason)
            return
        job = await anyio.to_thread.run_sync(self.queries.push_job, pid)
        if job is not None and job.state == "pending":  # owed but not running: not now
            await self._finish(pid, "stopped")

    async def refuse(self, pid: str, code: str, reason: str) -> None:
        """The agreement no longer allows this push: stop it and terminate the transfer."""
        async with self._lock(pid):
            await self._cut(pid, reason)
            await self._finish(pid, "failed", error=reason)
            await self._terminate(pid, code, reason)

    # -- the loop that claims owed pushes -----------------------------------------------------

    def ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="push sender")

    async def aclose(self) -> None:
        tasks = [t for t in (self._task, *self._running.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._task = None

    async def _run(self) -> None:
        limit = 8
        while True:
            self._wake.clear()
            # Our running pushes keep their leases (this loop comes round every 30 s at most,
            # the lease lasts 600 s), so no other process sharing the database takes one over.
            until = self.clock() + timedelta(seconds=LEASE_SECONDS)
            await anyio.to_thread.run_sync(self.queries.renew_pushes, list(self._running), until)
            jobs = await anyio.to_thread.run_sync(
                self.queries.claim_pushes, self.clock(), LEASE_SECONDS, limit
            )
            for job in jobs:
                pid = job.transfer_id
                if pid not in self._running:  # else: our own lease, renewed
                    self._running[pid] = asyncio.create_task(self._deliver(pid), name=f"push {pid}")
            if len(jobs) == limit:
                continue
            due = await anyio.to_thread.run_sync(self.queries.next_push_due)
            now = self.clock()
            # A due job we could not claim is leased (ours running, or another process's).
            wait = 30.0 if due is None or due <= now else (due - now).total_seconds()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), min(wait, 30.0))

    # -- one delivery ---------------------------------------------------------------------------

    async def _deliver(self, pid: str) -> None:
        sent = _Delivery()  # what went to the sink so far (the live loop adds to it)
        try:
            await self._delivery(pid, sent)
        except asyncio.CancelledError:
            reason = self._cuts.pop(pid, None)
            if reason is None:
                raise  # shutting down: the job stays owed, under its lease
            await self._finish(pid, "stopped", sent=sent.bytes, error=f"cut: {reason}")
        except PushFailed as exc:
            log.warning("push of %s failed, terminating: %s", pid, exc)
            await self._finish(pid, "failed", sent=sent.bytes, error=exc.message)
            await self._terminate(pid, exc.code, exc.message)
        except Exception as exc:  # a defect: keep the transfer, try again in a minute
            log.exception("push of %s broke", pid)
            now, error = self.clock(), repr(exc)
            await anyio.to_thread.run_sync(
                lambda: self.queries.finish_push(
                    pid, state="pending", now=now, error=error, retry_at=now + RETRY_DEFECT
                )
            )
        finally:
            self._running.pop(pid, None)
            if sent.access is not None:
                self._accessed(sent.access, sent)

    def _accessed(self, access: Access, sent: _Delivery) -> None:
        """The audit entry of one delivery, as a pull read's (`plane.DataPlane._accessed`).
        Written synchronously: a cancelled task (a cut) cannot be relied on to await."""
        record = access_record(
            at=self.clock(),
            snapshot=access.snapshot,
            peer=access.snapshot.counterparty_did,
            path="",
            size=sent.bytes,
            digest=sent.sha256 if sent.complete else None,
            complete=sent.complete,
            started=format_time(sent.started or self.clock()),
            push=True,
        )
        try:
            with self.store.transaction() as tx:
                tx.add(record)
        except ConnectorError as exc:  # a closed store on shutdown: say so, do not mask
            log.warning("push of %d bytes not recorded: %s", sent.bytes, exc)

    async def _delivery(self, pid: str, sent: _Delivery) -> None:
        snapshot = await anyio.to_thread.run_sync(self.queries.snapshot, pid)
        if snapshot is None or snapshot.state != "STARTED":
            await self._finish(pid, "stopped")  # sync will owe it again on a resume
            return
        started = self.clock()  # decided at this instant (the audit verifier re-decides it so)
        if not await self._allowed(snapshot, started):
            return
        try:  # what retrying cannot mend: the sink's address, the kind of source
            sink = await anyio.to_thread.run_sync(self._sink, pid)
            live = parse_source(snapshot.data_address).live
        except OutboundRefused as exc:
            raise PushFailed(f"the push cannot start: {exc}", code=exc.code) from exc
        except ConnectorError as exc:
            raise PushFailed(f"the push cannot start: {exc}") from exc
        access = Access(
            TransferClaims(pid, snapshot.agreement_id, snapshot.counterparty_did, 0),
            snapshot,
            started,
        )
        sent.access, sent.started = access, started  # counted: from here it is an access
        if live:
            await self._stream(access, sink, sent)  # returns only when cut or failed
            return
        await self._retrying(pid, functools.partial(self._upload, access, sink, sent))
        log.info("pushed %d bytes for transfer %s", sent.bytes, pid)
        # Delivered: from here on there is nothing to cut, only bookkeeping, which a cut must
        # not interrupt (the completion we send next is acknowledged fast enough for its
        # COMPLETED to arrive while we are still writing).
        self._running.pop(pid, None)
        await anyio.to_thread.run_sync(self._complete, pid, sent.bytes)

    def _complete(self, pid: str, sent: int) -> None:
        self.queries.finish_push(pid, state="done", now=self.clock(), bytes_sent=sent)
        try:
            self.transfers.act(pid, TransferEvent.COMPLETION)
        except ConnectorError as exc:  # suspended meanwhile: a resume sends it again
            log.info("push of %s delivered but not completed: %s", pid, exc)
            self.queries.finish_push(pid, state="stopped", now=self.clock(), bytes_sent=sent)

    def _sink(self, pid: str) -> _Sink:
        with self.store.transaction() as tx:
            return _Sink(tx.process(TransferRow, pid).data_address or {}, self.outbound)

    async def _allowed(self, snapshot: TransferSnapshot, now: datetime) -> bool:
        """One access under the agreement (see the module docstring); False: terminated."""
        pid = snapshot.transfer_id
        verdict: AccessVerdict = self.policy.check(snapshot, now)
        limit = verdict.count_limit
        if verdict.allowed and limit is not None:
            if not await anyio.to_thread.run_sync(
                self.queries.count_access, snapshot.agreement_id, limit, now
            ):
                verdict = AccessVerdict(
                    False,
                    "access_limit_reached",
                    f"the agreement allows {limit} accesses; all are used",
                )
        if verdict.allowed:
            return True
        await self._finish(pid, "failed", error=verdict.reason)
        await self._terminate(pid, verdict.code, verdict.reason)
        return False

    async def _upload(self, access: Access, sink: _Sink, sent: _Delivery) -> None:
        """A finite push: the whole body in one chunked PUT."""
        body = await self.reader.open(access, DataRequest())
        counted = _Counted(body.chunks)
        headers = {
            **sink.headers,
            "Content-Type": body.headers.get("Content-Type", "application/octet-stream"),
        }
        try:
            async with self.peers.session().put(
                sink.endpoint,
                data=counted,
                headers=headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=60),
            ) as response:
                if response.status >= 300:
                    raise Conflict(f"the consumer's sink answered {response.status}")
            sent.complete, sent.sha256 = True, counted.hexdigest()
        finally:
            sent.bytes = counted.size  # also when cut: how far it got
            await aclose(body.chunks)

    async def _stream(self, access: Access, sink: _Sink, sent: _Delivery) -> None:
        """A live push: one POST per batch of readings, for as long as the transfer runs."""
        pid = access.claims.transfer_id
        wanted = DataRequest(accept=NDJSON)
        body = await self._retrying(pid, lambda: self.reader.open(access, wanted))
        headers = {**sink.headers, "Content-Type": NDJSON}
        log.info("live push of %s streaming", pid)
        try:
            async for batch in body.chunks:
                await self._retrying(pid, functools.partial(self._post, sink, headers, batch))
                sent.bytes += len(batch)
        finally:
            await aclose(body.chunks)

    async def _post(self, sink: _Sink, headers: dict[str, str], batch: bytes) -> None:
        async with self.peers.session().post(
            sink.endpoint,
            data=batch,
            headers=headers,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=30, sock_connect=10),
        ) as response:
            if response.status >= 300:
                raise Conflict(f"the consumer's sink answered {response.status}")

    async def _retrying(self, pid: str, attempt: Callable[[], Awaitable[T]]) -> T:
        failures = 0
        while True:
            try:
                return await attempt()
            except PushFailed:
                raise
            except OutboundRefused as exc:  # the sink's address: no attempt will be allowed
                raise PushFailed(f"the push cannot go out: {exc}", code=exc.code) from exc
            except _RETRYABLE as exc:
                failures += 1
                error = f"{exc.__class__.__name__}: {exc}"
                if failures >= self.max_attempts:
                    raise PushFailed(
                        f"the push failed {failures} times; last error: {error[:400]}"
                    ) from exc
                delay = self.base_delay * 2 ** (failures - 1)
                log.info("push of %s failed (attempt %d), retrying in %.1fs: %s",
                         pid, failures, delay, error)  # fmt: skip
                await asyncio.sleep(delay)

    # -- bookkeeping ----------------------------------------------------------------------------

    async def _finish(
        self, pid: str, state: str, *, sent: int = 0, error: str | None = None
    ) -> None:
        now = self.clock()
        await anyio.to_thread.run_sync(
            lambda: self.queries.finish_push(
                pid, state=state, now=now, bytes_sent=sent, error=error
            )
        )

    async def _terminate(self, pid: str, code: str, reason: str) -> None:
        with contextlib.suppress(ConnectorError):  # it may have ended meanwhile
            await anyio.to_thread.run_sync(
                lambda: self.transfers.act(
                    pid, TransferEvent.TERMINATION, code=code, reason=reason[:500]
                )
            )


@dataclass
class _Delivery:
    """One delivery: set `access` once it is counted under the agreement; then it is metered
    (bytes to the sink, a SHA-256 of a finite body that arrived whole) into the audit log."""

    bytes: int = 0
    sha256: str | None = None
    complete: bool = False
    access: Access | None = None
    started: datetime | None = None  # when it was admitted


class _Counted:
    """The source's chunks, counted and hashed on the way (an iterator object, not a
    generator, so an aborted upload leaves nothing to finalise)."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self.size = 0
        self._digest: Any = hashlib.sha256()

    def __aiter__(self) -> _Counted:
        return self

    async def __anext__(self) -> bytes:
        chunk = await self._chunks.__anext__()
        self.size += len(chunk)
        if self._digest is not None:
            if self.size > MAX_HASHED:
                self._digest = None
            else:
                self._digest.update(chunk)
        return chunk

    def hexdigest(self) -> str | None:
        """SHA-256 of what was sent, when it stayed within `MAX_HASHED`."""
        return None if self._digest is None else str(self._digest.hexdigest())
