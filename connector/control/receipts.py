"""The receipt exchange: sending the receipts we owe peers, and taking theirs.

Sending is the runner's kind of work, done the runner's way: rows of `audit_outbox` (written
in the transaction that appended the entry) are leased, sent outside any transaction with a
fresh ID token through the dispatcher (so under the outbound policy), and settled as
delivered, retried with bounded exponential backoff, or failed for good, which is itself
recorded in the log (`audit.receipt_undelivered`). Nothing here is called from a request
handler except `receive`, which only verifies and stores.

Receiving verifies the receipt against the sender's keys from its DID document (already
resolved to authenticate the request): the checkpoint's signature and origin, the entry's form
and position, its inclusion, that it is about us and completes an exchange of a process we
share. A good receipt is recorded (`audit.receipt`); a bad one is refused with its code and
recorded as a finding (`audit.finding`); the connector carries on either way.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.audit.checkpoint import (
    Checkpoint,
    NoteVerifier,
    origin_for,
    verify_checkpoint,
)
from connector.audit.cosignature import (
    WitnessError,
    WitnessState,
    cosign,
    verify_cosignature,
    witness_check,
)
from connector.audit.errors import AuditError, ReceiptError
from connector.audit.receipts import Receipt, point_of
from connector.clock import Clock
from connector.control.checkpoints import checkpoint_now
from connector.control.dispatcher import Dispatcher, PeerRejected
from connector.errors import ConnectorError
from connector.identity.did import DidResolver
from connector.identity.keys import KeyRing
from connector.outbound import OutboundRefused
from connector.store.audit_log import AuditQueries
from connector.store.audit_records import record_event
from connector.store.exchange_queries import ExchangeQueries, Owed
from connector.store.store import Store

log = logging.getLogger("tsunagu.receipts")

__all__ = ["RECEIPTS_PATH", "WITNESS_PATH", "ReceiptExchange"]

RECEIPTS_PATH = "/tsunagu/receipts"  # under the peer's DSP base
WITNESS_PATH = "/tsunagu/witness"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _witness_request(body: Any) -> tuple[int, list[bytes], str]:
    """`{"old": N, "proof": [base64...], "checkpoint": note}`, strictly."""
    if not isinstance(body, dict) or set(body) != {"old", "proof", "checkpoint"}:
        raise WitnessError("a witness request has exactly old, proof and checkpoint")
    old, proof, note = body["old"], body["proof"], body["checkpoint"]
    if not isinstance(old, int) or isinstance(old, bool) or old < 0:
        raise WitnessError("old must be a non-negative integer")
    if not isinstance(note, str) or not isinstance(proof, list) or len(proof) > 64:
        raise WitnessError("checkpoint must be a note and proof a list of hashes")
    hashes = []
    for item in proof:
        try:
            raw = base64.b64decode(str(item), validate=True)
        except binascii.Error:
            raise WitnessError("a proof hash is not base64") from None
        if len(raw) != 32:
            raise WitnessError("a proof hash is not 32 bytes")
        hashes.append(raw)
    return old, hashes, note


class ReceiptExchange:
    def __init__(
        self,
        store: Store,
        dispatcher: Dispatcher,
        clock: Clock,
        keys: KeyRing,
        resolver: DidResolver,
        *,
        own_did: str,
        max_attempts: int = 8,
        base_delay: float = 0.5,
        max_delay: float = 300.0,
        lease_seconds: float = 30.0,
        idle_seconds: float = 30.0,
        batch: int = 32,
        gather_seconds: float = 0.05,
        witness_interval: float = 1.0,
    ) -> None:
        self.store = store
        self.dispatcher = dispatcher
        self.clock = clock
        self.keys = keys
        self.resolver = resolver
        self.own_did = own_did
        self.origin = origin_for(own_did)
        self.own_did = own_did
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.lease_seconds = lease_seconds
        self.idle_seconds = idle_seconds
        self.batch = batch
        self.gather_seconds = gather_seconds
        # A peer is asked to cosign at most this often (s), each time the newest checkpoint
        # it was given: witnesses cosign a log now and then (C2SP tlog-witness), and one
        # cosigned size per interval still catches a log that shows two histories.
        self.witness_interval = witness_interval
        self._asked: dict[str, float] = {}  # peer -> when (monotonic) it was last asked
        self._unwitnessed: dict[str, tuple[Owed, Receipt, Checkpoint]] = {}
        self._witnessing: set[asyncio.Future[None]] = set()  # witness requests in flight
        self.queries = ExchangeQueries(store)
        self.log = AuditQueries(store)
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False

    # -- sending ---------------------------------------------------------------------------

    def wake(self) -> None:
        """Thread-safe: a commit queued receipts."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    def stop(self) -> None:
        self._stopping = True
        self.wake()

    async def run_forever(self) -> None:
        self._loop = asyncio.get_running_loop()
        while not self._stopping:
            self._wake.clear()
            timeout = self.idle_seconds
            try:
                if await self.run_once() >= self.batch:
                    continue
                due = await self.store.call(self.queries.next_due)
                if due is not None:
                    due = due if due.tzinfo else due.replace(tzinfo=UTC)
                    timeout = min(timeout, max(0.0, (due - self.clock()).total_seconds()))
                witness_due = self._next_witness_due()
                if witness_due is not None:
                    timeout = min(timeout, max(0.0, witness_due - time.monotonic()))
            except ConnectorError as exc:  # a broken database must not end the loop
                log.warning("receipts: %s", exc)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                continue
            # Woken by a commit: the commits just behind it queue theirs meanwhile, and one
            # checkpoint and one witness request per peer then serve them all.
            if not self._stopping:
                await asyncio.sleep(self.gather_seconds)

    async def run_once(self) -> int:
        """Send every receipt that is due; returns how many were attempted."""
        self._loop = self._loop or asyncio.get_running_loop()
        owed = await self.store.call(
            self.queries.claim, self.clock(), self.lease_seconds, self.batch
        )
        await asyncio.gather(*(self._deliver(item) for item in owed))
        await self._ask_due_witnesses()
        return len(owed)

    def _to_witness(self, owed: Owed, receipt: Receipt) -> None:
        """The newest checkpoint each peer was given waits for its witness request: asking
        once per receipt made the peer cosign the same size again and again, or answer
        `conflict` to requests racing each other."""
        checkpoint = Checkpoint.parse(receipt.checkpoint.split("\n\n")[0] + "\n")
        kept = self._unwitnessed.get(owed.peer_did)
        if kept is None or kept[2].size < checkpoint.size:
            self._unwitnessed[owed.peer_did] = (owed, receipt, checkpoint)

    async def witness_now(self) -> None:
        """Ask every peer with a checkpoint still to witness now, whatever the interval, and
        wait for the requests in flight: once the outbox is empty, every cosignature there
        is to have is then asked for (the audit tests, an operator's check before a report)."""
        await self._ask_due_witnesses(everyone=True)
        if self._witnessing:
            await asyncio.gather(*list(self._witnessing), return_exceptions=True)

    def _next_witness_due(self) -> float | None:
        """When (monotonic) the first peer with a checkpoint to witness may be asked."""
        dues = [self._asked.get(peer, -1e9) + self.witness_interval for peer in self._unwitnessed]
        return min(dues) if dues else None

    async def _ask_due_witnesses(self, *, everyone: bool = False) -> None:
        now = time.monotonic()
        due = [
            peer
            for peer in self._unwitnessed
            if everyone or now - self._asked.get(peer, -1e9) >= self.witness_interval
        ]
        for peer in due:
            self._asked[peer] = now
        asking = [
            asyncio.ensure_future(self._ask_cosignature(*self._unwitnessed.pop(peer)))
            for peer in due
        ]
        self._witnessing.update(asking)
        try:
            await asyncio.gather(*asking)
        finally:
            self._witnessing.difference_update(asking)

    def receipt_for(self, seq: int) -> Receipt:
        """Our receipt for entry `seq`: signed at the log's current size (made if need be)."""
        checkpoint = checkpoint_now(self.keys, self.own_did, self.log, self.clock())
        stored = self.log.entries(seq, 1)
        if not stored or stored[0].seq != seq:
            raise ReceiptError(f"entry {seq} is not in the log", code="receipt_unavailable")
        proof = self.log.inclusion_proof(seq, checkpoint.size)
        return Receipt(self.origin, seq, stored[0].body, tuple(proof), checkpoint.note)

    async def _deliver(self, owed: Owed) -> None:
        """Send one receipt and settle its row."""
        now = self.clock()
        try:
            receipt = await self.store.call(self.receipt_for, owed.entry_seq)
            url = owed.address.rstrip("/") + RECEIPTS_PATH
            await self.dispatcher.send(url, receipt.to_json(), audience=owed.peer_did)
        except (PeerRejected, OutboundRefused, AuditError) as exc:
            # Final: the peer refused it, its address may not be contacted, or we cannot
            # make the receipt (a damaged log refuses to sign). Said in the log.
            error = f"{exc.code}: {exc}"
            log.info("receipt for entry %d to %s failed: %s", owed.entry_seq, owed.peer_did, error)
            await self.store.call(
                self.queries.settle,
                owed.entry_seq,
                now,
                state="failed",
                error=error,
                record=self._undelivered(owed, error, now),
            )
            return
        except ConnectorError as exc:
            attempts = owed.attempts + 1
            if attempts >= self.max_attempts:
                error = f"gave up after {attempts} attempts: {exc}"
                await self.store.call(
                    self.queries.settle,
                    owed.entry_seq,
                    now,
                    state="failed",
                    error=error,
                    record=self._undelivered(owed, error, now),
                )
                return
            delay = min(self.max_delay, self.base_delay * 2 ** (attempts - 1))
            await self.store.call(
                self.queries.settle,
                owed.entry_seq,
                now,
                state="pending",
                error=str(exc),
                retry_at=now + timedelta(seconds=delay),
            )
            return
        self._to_witness(owed, receipt)  # before the row is settled: see witness_now
        await self.store.call(self.queries.settle, owed.entry_seq, now, state="delivered")

    async def _ask_cosignature(self, owed: Owed, receipt: Receipt, checkpoint: Checkpoint) -> None:
        """Have the peer witness the checkpoint the receipt carries. Best effort: a refusal
        is the peer's evidence (it records it); a failure waits for the next receipt."""
        url = owed.address.rstrip("/") + WITNESS_PATH
        try:
            old = await self.store.call(self.queries.witness_size, owed.peer_did)
            for _attempt in range(2):  # a second time from the size the witness says it has
                if old >= checkpoint.size:
                    return
                proof = (
                    await self.store.call(self.log.consistency_proof, old, checkpoint.size)
                    if old
                    else []
                )
                body = {
                    "old": old,
                    "proof": [_b64(h) for h in proof],
                    "checkpoint": receipt.checkpoint,
                }
                answer = await self.dispatcher.send(url, body, audience=owed.peer_did) or {}
                if answer.get("status") == "cosigned":
                    await self._keep_cosignature(owed.peer_did, checkpoint, answer)
                    return
                size = answer.get("size")
                if answer.get("status") != "conflict" or not isinstance(size, int):
                    return
                old = size
        except ConnectorError as exc:
            log.info("no cosignature from %s: %s", owed.peer_did, exc)

    async def _keep_cosignature(
        self, witness: str, checkpoint: Checkpoint, answer: dict[str, Any]
    ) -> None:
        line = str(answer.get("cosignature"))
        try:
            keys = list((await self.resolver.resolve(witness)).keys.values())
            verify_cosignature(line, checkpoint, witness, keys)
        except AuditError:  # cosigned with a key we have not seen yet (a rotation)?
            keys = list((await self.resolver.refreshed(witness)).keys.values())
            verify_cosignature(line, checkpoint, witness, keys)
        await self.store.call(
            self.queries.keep_cosignature, checkpoint.size, witness, line, self.clock()
        )

    # -- witnessing --------------------------------------------------------------------------

    async def witness(self, peer_did: str, body: Any) -> dict[str, Any]:
        """Cosign a peer's checkpoint if it extends the last one we cosigned of its log
        (C2SP tlog-witness rules); `conflict` with our size when the peer assumed another.
        A fork or an inconsistent checkpoint is refused and recorded as a finding."""
        origin = origin_for(peer_did)
        try:
            old, proof, note = _witness_request(body)
            try:
                checkpoint = verify_checkpoint(note, origin, await self._verifiers(peer_did))
            except AuditError:  # signed by a key we have not seen yet (a rotation)?
                verifiers = await self._verifiers(peer_did, fresh=True)
                checkpoint = verify_checkpoint(note, origin, verifiers)
        except AuditError as exc:
            raise WitnessError(f"{exc.code}: {exc.message}", code="witness_malformed") from exc
        state = await self.store.call(self.queries.witnessed, origin)
        try:
            witness_check(state, old, proof, checkpoint)
        except WitnessError as exc:
            if exc.code in ("witness_conflict", "witness_old_beyond_new"):
                return {"status": "conflict", "size": state.size if state else 0}
            evidence: dict[str, Any] = {
                "code": exc.code,
                "reason": exc.message[:1000],
                "checkpoint": note,
            }
            if state is not None:
                evidence["cosigned_size"] = state.size
                evidence["cosigned_root"] = _b64(state.root)
            await self.store.call(
                self.queries.record,
                record_event(
                    at=self.clock(),
                    family="audit",
                    action="finding",
                    subject=f"{origin}@{checkpoint.size}",
                    peer=peer_did,
                    details=evidence,
                ),
            )
            raise
        now = self.clock()
        line = cosign(checkpoint, self.own_did, self.keys.active, int(now.timestamp()))
        record = record_event(
            at=now,
            family="audit",
            action="cosigned",
            subject=f"{origin}@{checkpoint.size}",
            peer=peer_did,
            details={"size": checkpoint.size, "root": _b64(checkpoint.root)},
        )
        new = WitnessState(checkpoint.size, checkpoint.root)
        if not await self.store.call(self.queries.cosigned, origin, state, new, now, record):
            moved = await self.store.call(self.queries.witnessed, origin)
            return {"status": "conflict", "size": moved.size if moved else 0}
        return {"status": "cosigned", "cosignature": line}

    def _undelivered(self, owed: Owed, error: str, now: datetime) -> Any:
        return record_event(
            at=now,
            family="audit",
            action="receipt_undelivered",
            subject=f"{self.origin}#{owed.entry_seq}",
            peer=owed.peer_did,
            details={"seq": owed.entry_seq, "error": error[:500]},
        )

    # -- receiving -------------------------------------------------------------------------

    async def _verifiers(self, peer_did: str, *, fresh: bool = False) -> list[NoteVerifier]:
        resolver = self.resolver
        document = await (resolver.refreshed(peer_did) if fresh else resolver.resolve(peer_did))
        return [NoteVerifier(origin_for(peer_did), k) for k in document.keys.values()]

    async def receive(self, peer_did: str, body: Any) -> str:
        """Verify and record a peer's receipt: `recorded` or `repeated`; ReceiptError (and a
        finding in our log) when it is bad."""
        try:
            receipt = Receipt.from_json(body)
            expected = origin_for(peer_did)
            if receipt.origin != expected:
                raise ReceiptError(
                    f"a receipt from {peer_did} is of log {receipt.origin!r}, not {expected!r}",
                    code="receipt_not_theirs",
                )
            try:
                _checkpoint, entry = receipt.verify(await self._verifiers(peer_did))
            except ReceiptError:  # signed by a key we have not seen yet (a rotation)?
                _checkpoint, entry = receipt.verify(await self._verifiers(peer_did, fresh=True))
            data = entry.to_json()
            point = point_of(data)
            if point is None:
                raise ReceiptError(
                    f"entry {entry.seq} ({entry.kind}) completes no exchange",
                    code="receipt_not_an_exchange",
                )
            if entry.peer != self.own_did:
                raise ReceiptError(
                    f"entry {entry.seq} is about {entry.peer or 'nobody'}, not us",
                    code="receipt_not_ours",
                )
            process = entry.kind.partition(".")[0]
            now = self.clock()

            def record_for(own: str) -> Any:
                return record_event(
                    at=now,
                    family="audit",
                    action="receipt",
                    # Not our pid: a process's own events (its last inbound message) stay
                    # its own.
                    subject=f"{receipt.origin}#{receipt.seq}",
                    peer=peer_did,
                    details={
                        "own_subject": own,
                        "origin": receipt.origin,
                        "seq": receipt.seq,
                        "process": process,
                        "point": point,
                        "peer_subject": entry.subject,
                        "entry": receipt.entry,
                        "proof": [_b64(h) for h in receipt.proof],
                        "checkpoint": receipt.checkpoint,
                    },
                )

            # Our process and the receipt's record in one transaction.
            about = (process, str(entry.details.get("role")), peer_did, entry.subject)
            own, outcome = await self.store.call(
                self.queries.take_receipt,
                about,
                receipt.origin,
                receipt.seq,
                receipt.leaf_hash,
                now,
                record_for,
            )
            if own is None:
                raise ReceiptError(
                    f"we share no {process} {entry.subject!r} with {peer_did}",
                    code="receipt_unknown_process",
                )
            if outcome == "conflict":
                raise ReceiptError(
                    f"{peer_did} gave another receipt for its entry {receipt.seq} before: "
                    "its log shows us two histories",
                    code="receipt_conflict",
                )
            return outcome
        except ReceiptError as exc:
            await self.store.call(self.queries.record, self._finding(peer_did, body, exc))
            raise

    def _finding(self, peer_did: str, body: Any, error: ReceiptError) -> Any:
        try:
            raw = json.dumps(body, sort_keys=True, ensure_ascii=False).encode()
        except (TypeError, ValueError):
            raw = repr(body).encode()
        return record_event(
            at=self.clock(),
            family="audit",
            action="finding",
            subject=f"receipt:{hashlib.sha256(raw).hexdigest()}",
            peer=peer_did,
            details={"code": error.code, "reason": error.message[:1000]},
        )
