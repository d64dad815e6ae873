"""The provider's data plane: checks every request against token, transfer and agreement, then
streams from the dataset's source.

Per request: the access token (signature checked once, then cached until it expires), one
read of the transfer, its agreement and their usage (`DataPlaneQueries.snapshot`), the
`AccessPolicy` hook, and, only when the agreement limits the number of accesses, one counting
update. Changes of a transfer reach the data plane through `changed()` (called after every
commit by the control plane) and cut its open streams and its running push on the spot (or
start / resume the push); open streams and running pushes are also re-checked every
`recheck_seconds`, which covers other processes sharing the database, revoked or expired
agreements and live streams whose token ran out without a refresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio

from connector.audit.entries import format_time
from connector.clock import Clock
from connector.dataplane.access import AccessPolicy, AccessVerdict, AgreementAccessPolicy
from connector.dataplane.addresses import PullAddressIssuer
from connector.dataplane.consent import ConsentGate
from connector.dataplane.errors import AccessDenied, TokenRejected
from connector.dataplane.metering import access_record, metered
from connector.dataplane.push import PushSender
from connector.dataplane.reading import Access, SourceReader
from connector.dataplane.sinks import Sinks
from connector.dataplane.sources import Body, DataRequest
from connector.dataplane.streaming import OpenStreams
from connector.dataplane.tokens import TransferClaims, TransferTokens, new_refresh_token, token_hash
from connector.identity.access_tokens import MAX_LIFETIME_SECONDS
from connector.identity.keys import KeyRing
from connector.outbound import OutboundPolicy, PeerSession
from connector.protocol.formats import PULL, PUSH
from connector.protocol.roles import Role
from connector.store.audit_records import record_event
from connector.store.consent_queries import ConsentQueries
from connector.store.dataplane_queries import DataPlaneQueries, TransferSnapshot
from connector.store.store import Store

log = logging.getLogger("tsunagu.dataplane")


class DataPlane:
    def __init__(
        self,
        store: Store,
        keys: KeyRing,
        clock: Clock,
        *,
        own_did: str,
        public_url: str,
        outbound: OutboundPolicy,
        directory: Path | None = None,
        policy: AccessPolicy | None = None,
        recheck_seconds: float = 1.0,
    ) -> None:
        self.store = store
        self.clock = clock
        self.own_did = own_did
        self.queries = DataPlaneQueries(store)
        self.tokens = TransferTokens(keys, own_did=own_did, clock=clock)
        self.addresses = PullAddressIssuer(self.tokens, self.queries, public_url=public_url)
        self.policy: AccessPolicy = policy or AgreementAccessPolicy()
        self.recheck_seconds = recheck_seconds
        self.reader = SourceReader(clock)
        self.consent = self.reader.consent = ConsentGate(ConsentQueries(store), clock)
        self.http = self.reader.http  # also the consumer side's client for pulls (app.py)
        # consumers' push sinks and providers' pull endpoints: addresses peers gave us
        self.outbound = outbound
        self.peers = PeerSession(outbound, auto_decompress=False, skip_auto_headers=("User-Agent",))
        self.streams = OpenStreams()
        self.sinks = Sinks(
            self.queries, clock, directory=directory or Path("."), public_url=public_url
        )
        self.pusher = PushSender(
            self.reader,
            self.policy,
            self.queries,
            store,
            clock,
            peers=self.peers,
            outbound=outbound,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._recheck: asyncio.Task[None] | None = None
        self._closed = False  # after aclose nothing may open connections or sessions again

    # -- life cycle -----------------------------------------------------------------------

    def bind(self) -> None:
        """Attach to the running loop (on start-up, or on first use when nothing started us)."""
        if self._closed:
            return
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        if self._recheck is None or self._recheck.done():
            self._recheck = asyncio.create_task(self._recheck_forever(), name="data plane recheck")
            self.pusher.ensure_running()  # pushes left pending by a previous process

    async def aclose(self) -> None:
        self._closed = True
        tasks = [t for t in (self._recheck, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._recheck = None
        await self.pusher.aclose()
        await self.reader.aclose()
        await self.peers.aclose()

    def _spawn(self, coro: Any) -> None:
        if self._closed:
            coro.close()
            return
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- notifications from the control plane ----------------------------------------------

    def changed(
        self,
        pid: str,
        *,
        role: str | None = None,
        state: str | None = None,
        format: str | None = None,
    ) -> None:
        """Thread-safe: transfer `pid` was just committed with a new state. With what the
        control plane knows of it, changes that concern no stream or push are skipped without
        reading the transfer back: consumer-side transfers, and pull transfers that are (still)
        STARTED."""
        if role == Role.CONSUMER or (state == "STARTED" and format not in (None, PUSH)):
            return
        loop = self._loop
        if loop is not None and not loop.is_closed() and not self._closed:
            loop.call_soon_threadsafe(self._spawn_reaction, pid)

    def _spawn_reaction(self, pid: str) -> None:
        if not self._closed:
            self._spawn(self._react(pid))

    async def _react(self, pid: str) -> None:
        try:
            snapshot = await anyio.to_thread.run_sync(self.queries.snapshot, pid)
        except Exception as exc:  # a store hiccup must not kill the loop; the recheck retries
            log.warning("data plane: cannot read transfer %s: %s", pid, exc)
            return
        if snapshot is None or snapshot.role != Role.PROVIDER:
            return
        if snapshot.state != "STARTED":
            self.tokens.forget(pid)
            if self.streams.cut(pid, f"the transfer is {snapshot.state}"):
                log.info("data plane: cut the open streams of %s (%s)", pid, snapshot.state)
            if snapshot.state in ("TERMINATED", "COMPLETED"):
                await anyio.to_thread.run_sync(self.queries.drop_refresh, pid)
        if snapshot.format == PUSH:
            await self.pusher.sync(pid)  # starts, cuts or resumes the push

    async def _recheck_forever(self) -> None:
        while True:
            await asyncio.sleep(self.recheck_seconds)
            streams, pushes = self.streams.transfer_ids(), self.pusher.running()
            for pid in {*streams, *pushes}:
                try:
                    snapshot = await anyio.to_thread.run_sync(self.queries.snapshot, pid)
                except Exception as exc:
                    log.warning("data plane: recheck of %s failed: %s", pid, exc)
                    continue
                verdict = self._still_allowed(snapshot)
                if verdict.allowed:
                    continue
                if pid in streams:
                    self.streams.cut(pid, verdict.reason)
                if pid not in pushes:
                    continue
                if snapshot is not None and snapshot.state == "STARTED":
                    await self.pusher.refuse(pid, verdict.code, verdict.reason)
                else:  # changed by another process sharing the database
                    await self.pusher.sync(pid)

    def _still_allowed(self, snapshot: TransferSnapshot | None) -> AccessVerdict:
        """Whether open streams (and a running push) of this transfer may go on."""
        if snapshot is None:
            return AccessVerdict(False, "transfer_gone", "the transfer is gone")
        if snapshot.state != "STARTED":
            return AccessVerdict(False, "transfer_stopped", f"the transfer is {snapshot.state}")
        now = self.clock()
        if snapshot.access_expires_at is not None and snapshot.access_expires_at <= now:
            return AccessVerdict(False, "token_expired", "the token expired without refresh")
        verdict = self.policy.check(snapshot, now)
        if verdict.code == "access_limit_reached":
            # The count limits how many accesses start; one under way was counted already.
            return AccessVerdict(True)
        return verdict

    # -- admitting a request ------------------------------------------------------------------

    async def authorize(self, transfer_id: str, authorization: str | None) -> Access:
        self.bind()
        claims = self.tokens.check(authorization, transfer_id)
        snapshot = await self._snapshot(transfer_id)
        now = self.clock()
        try:
            verdict = self.admit(claims, snapshot, now)
            assert snapshot is not None
            if verdict.count_limit is not None:
                counted = await anyio.to_thread.run_sync(
                    self.queries.count_access,
                    snapshot.agreement_id,
                    verdict.count_limit,
                    self.clock(),
                )
                if not counted:
                    raise AccessDenied(
                        f"the agreement allows {verdict.count_limit} accesses; all are used",
                        code="access_limit_reached",
                    )
        except (AccessDenied, TokenRejected) as exc:
            # A signed token for this transfer, refused: the refusal and its reason are logged
            # (forged or foreign tokens are not: anyone could fill the log with those).
            if snapshot is not None and snapshot.role == Role.PROVIDER:
                self._refused(snapshot, claims.consumer_did, exc)
            raise
        return Access(claims, snapshot, now, consent_version=snapshot.consent_version)

    def _refused(self, snapshot: TransferSnapshot, consumer: str, exc: Exception) -> None:
        record = record_event(
            at=self.clock(),
            family="data",
            action="refused",
            subject=snapshot.transfer_id,
            peer=consumer,
            details={
                "agreement": snapshot.agreement_id,
                "code": getattr(exc, "code", "refused"),
                "reason": str(exc)[:500],
                "decision": "denied",
            },
        )
        with self.store.transaction() as tx:
            tx.add(record)

    async def _snapshot(self, transfer_id: str) -> TransferSnapshot | None:
        # A SQLite read of the WAL snapshot (~50 us, never waiting on a writer) costs less than
        # a trip to a worker thread (~100 us); PostgreSQL is a network round trip: thread.
        if self.store.engine.dialect.name == "sqlite":
            return self.queries.snapshot(transfer_id)
        return await anyio.to_thread.run_sync(self.queries.snapshot, transfer_id)

    def admit(
        self,
        claims: TransferClaims,
        snapshot: TransferSnapshot | None,
        now: datetime | None = None,
    ) -> AccessVerdict:
        if snapshot is None or snapshot.role != Role.PROVIDER:
            raise TokenRejected("no such transfer here", code="token_foreign")
        if claims.consumer_did != snapshot.counterparty_did:
            raise TokenRejected(
                "the token belongs to another consumer", code="token_wrong_consumer"
            )
        if claims.agreement_id != snapshot.agreement_id:
            raise TokenRejected("the token names another agreement", code="token_foreign")
        if snapshot.state == "TERMINATED" and snapshot.revoked_at is not None:
            # revoking terminates the agreement's transfers; the consumer is told why
            raise AccessDenied(
                "the provider revoked the agreement: "
                + (snapshot.revoked_reason or "no reason given"),
                code="agreement_revoked",
            )
        if snapshot.state == "TERMINATED":
            raise TokenRejected(
                "the transfer was terminated; its tokens are revoked", code="token_revoked"
            )
        if snapshot.state != "STARTED":
            code = {"SUSPENDED": "transfer_suspended", "COMPLETED": "transfer_completed"}
            raise AccessDenied(
                f"the transfer is {snapshot.state}, not STARTED",
                code=code.get(snapshot.state, "transfer_not_started"),
            )
        if snapshot.format != PULL:
            raise AccessDenied(
                "this is a push transfer: the provider sends the data", code="not_a_pull_transfer"
            )
        verdict = self.policy.check(snapshot, now or self.clock())
        if not verdict.allowed:
            raise AccessDenied(verdict.reason, code=verdict.code)
        return verdict

    # -- refresh ------------------------------------------------------------------------------

    def refresh(self, transfer_id: str, refresh_token: str, consumer_did: str) -> dict[str, Any]:
        """A new access token (and refresh token) for the same consumer. Idempotent as far as
        a lost response goes: the token just presented stays usable until its successor is."""
        snapshot = self.queries.snapshot(transfer_id)
        if snapshot is None or snapshot.role != Role.PROVIDER:
            raise TokenRejected("no such transfer here", code="refresh_token_invalid")
        if snapshot.state in ("TERMINATED", "COMPLETED"):
            raise TokenRejected(
                f"the transfer is {snapshot.state}; its tokens are revoked", code="token_revoked"
            )
        token, expires = self.tokens.issue(
            transfer_id=transfer_id,
            agreement_id=snapshot.agreement_id,
            consumer_did=snapshot.counterparty_did,
        )
        successor = new_refresh_token()
        outcome = self.queries.rotate_refresh(
            transfer_id,
            presented=token_hash(refresh_token),
            consumer_did=consumer_did,
            new_hash=token_hash(successor),
            expires=expires,
        )
        if outcome == "wrong_consumer":
            raise TokenRejected(
                "this transfer belongs to another consumer", code="token_wrong_consumer"
            )
        if outcome != "ok":
            raise TokenRejected(
                "the refresh token is unknown or was superseded", code="refresh_token_invalid"
            )
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": MAX_LIFETIME_SECONDS,
            "refresh_token": successor,
        }

    def revoke_agreement(self, agreement_id: str, reason: str) -> None:
        self.queries.revoke_agreement(agreement_id, reason, self.clock())

    async def open(self, access: Access, request: DataRequest) -> Body:
        body = await self.reader.open(access, request)
        # when it was admitted (the audit verifier re-decides it then); the entry is written
        # when the body ends
        started = format_time(access.admitted_at or self.clock())
        return metered(body, functools.partial(self._accessed, access, request.subpath, started))

    def _accessed(
        self,
        access: Access,
        path: str,
        started: str,
        size: int,
        digest: str | None,
        complete: bool,
    ) -> None:
        """The audit entry of one read (connector.dataplane.metering)."""
        record = access_record(
            at=self.clock(),
            snapshot=access.snapshot,
            peer=access.claims.consumer_did,
            path=path,
            size=size,
            digest=digest,
            complete=complete,
            started=started,
        )
        with self.store.transaction() as tx:
            tx.add(record)
