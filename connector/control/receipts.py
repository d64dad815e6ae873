"""The receipt exchange: sending the receipts we owe peers, and taking theirs.

Sending is the runner's kind of work, done the runner's way: rows of `audit_outbox` (written
in the transaction that appended the entry) are leased, grouped by peer, and each peer's
receipts sent as one batch (`receipt_batch`: one checkpoint, one request) outside any
transaction with a fresh ID token through the dispatcher (so under the outbound policy). The
batch's rows are settled together: delivered, retried with bounded exponential backoff, or
failed for good (the whole batch refused, or one receipt by the peer's outcome for it), which
is itself recorded in the log (`audit.receipt_undelivered`). Nothing here is called from a
request handler except `receive` (`receipt_intake`: verify and store) and `witness`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
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
from connector.audit.errors import AuditError
from connector.audit.receipts import MAX_BATCH, Receipt, batch_json
from connector.clock import Clock
from connector.control.dispatcher import Dispatcher, PeerRejected
from connector.control.receipt_batch import Batch, build_batch, read_outcomes, spans
from connector.control.receipt_intake import ReceiptIntake, note_verifiers
from connector.errors import ConnectorError
from connector.identity.did import DidResolver
from connector.identity.keys import KeyRing
from connector.outbound import OutboundRefused
from connector.store.audit_log import AuditQueries
from connector.store.audit_records import record_event
from connector.store.exchange_queries import ExchangeQueries, Owed, Settlement
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
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.lease_seconds = lease_seconds
        self.idle_seconds = idle_seconds
        self.batch = batch  # rows claimed at once; each peer's go out MAX_BATCH a request
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
        self.intake = ReceiptIntake(store, clock, resolver, own_did=own_did)
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
        await asyncio.gather(*(self._deliver(rows) for rows in _by_peer(owed)))
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
        batch = self._batch([seq])
        if seq in batch.missing:
            raise batch.missing[seq]
        return batch.receipts[seq]

    def _batch(self, seqs: list[int]) -> Batch:
        return build_batch(self.keys, self.own_did, self.log, self.clock(), seqs)

    async def _deliver(self, rows: list[Owed]) -> None:
        """Send one peer's receipts in one request and settle their rows in one transaction."""
        peer, now = rows[0], self.clock()
        try:
            batch = await self.store.call(self._batch, [r.entry_seq for r in rows])
        except AuditError as exc:  # a damaged log refuses to sign: final, said in the log
            await self._settle(now, [self._failed(r, f"{exc.code}: {exc}", now) for r in rows])
            return
        except ConnectorError as exc:
            await self._settle(now, [self._retried(r, exc, now) for r in rows])
            return
        settled = [
            self._failed(r, f"{e.code}: {e}", now)
            for r in rows
            if (e := batch.missing.get(r.entry_seq)) is not None
        ]
        sent = [r for r in rows if r.entry_seq in batch.receipts]
        receipts = [batch.receipts[r.entry_seq] for r in sent]
        url = peer.address.rstrip("/") + RECEIPTS_PATH
        for a, b in spans(receipts):  # one request, unless their entries are unusually large
            settled += await self._send(url, sent[a:b], receipts[a:b], now)
        await self._settle(now, settled)

    async def _send(
        self, url: str, rows: list[Owed], receipts: list[Receipt], now: datetime
    ) -> list[Settlement]:
        """One request with `receipts` (for `rows`): how each row settles."""
        try:
            answer = await self.dispatcher.send(
                url, batch_json(receipts), audience=rows[0].peer_did
            )
            refusals = read_outcomes(answer, len(rows))
        except (PeerRejected, OutboundRefused) as exc:
            # Final: the peer refused the request, or its address may not be contacted.
            return [self._failed(r, f"{exc.code}: {exc}", now) for r in rows]
        except ConnectorError as exc:  # unreachable, or an answer we cannot read
            return [self._retried(r, exc, now) for r in rows]
        settled = []
        for row, refusal in zip(rows, refusals, strict=True):
            if refusal is None:
                settled.append(Settlement(row.entry_seq, "delivered"))
            else:  # this one refused by the peer, as a PeerRejected of its own
                error = f"peer_rejected: {url} refused it: {refusal[1]} [{refusal[0]}]"
                settled.append(self._failed(row, error, now))
        if any(refusal is None for refusal in refusals):
            self._to_witness(rows[0], receipts[0])  # before the rows settle: see witness_now
        return settled

    async def _settle(self, now: datetime, settled: list[Settlement]) -> None:
        await self.store.call(self.queries.settle_all, now, settled)

    def _failed(self, owed: Owed, error: str, now: datetime) -> Settlement:
        log.info("receipt for entry %d to %s failed: %s", owed.entry_seq, owed.peer_did, error)
        record = self._undelivered(owed, error, now)
        return Settlement(owed.entry_seq, "failed", error=error, record=record)

    def _retried(self, owed: Owed, exc: ConnectorError, now: datetime) -> Settlement:
        attempts = owed.attempts + 1
        if attempts >= self.max_attempts:
            return self._failed(owed, f"gave up after {attempts} attempts: {exc}", now)
        delay = min(self.max_delay, self.base_delay * 2 ** (attempts - 1))
        retry_at = now + timedelta(seconds=delay)
        return Settlement(owed.entry_seq, "pending", error=str(exc), retry_at=retry_at)

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
        return await note_verifiers(self.resolver, peer_did, fresh=fresh)

    async def receive(self, peer_did: str, body: Any) -> dict[str, Any]:
        """Verify and record a peer's receipt or batch of receipts (`receipt_intake`): the
        answer; ReceiptError for a bad single receipt or a malformed batch."""
        return await self.intake.receive(peer_did, body)


def _by_peer(owed: list[Owed]) -> list[list[Owed]]:
    """The rows claimed, per peer (DID and address), at most MAX_BATCH to a request."""
    groups: dict[tuple[str, str], list[Owed]] = {}
    for row in owed:
        groups.setdefault((row.peer_did, row.address), []).append(row)
    return [
        rows[at : at + MAX_BATCH]
        for rows in groups.values()
        for at in range(0, len(rows), MAX_BATCH)
    ]
