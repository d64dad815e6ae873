"""Taking a peer's receipts: one (as older senders send it) or a batch, in one transaction.

Each receipt is verified against the sender's keys from its DID document (already resolved
to authenticate the request): the checkpoint's signature and origin, once per distinct note
of the request (a batch's receipts usually share one), then per receipt the entry's form and
position, its inclusion, that it is about us and completes an exchange of a process we
share. The good ones are recorded together (one `audit.receipt` each, one commit); each bad
one is refused with its code and recorded as a finding (`audit.finding`) without spoiling
the others.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from connector.audit.checkpoint import Checkpoint, NoteVerifier, origin_for, verify_checkpoint
from connector.audit.errors import AuditError, ReceiptError
from connector.audit.receipts import Receipt, batch_items, point_of
from connector.clock import Clock
from connector.control.receipt_batch import outcome_json
from connector.identity.did import DidResolver
from connector.store.audit_records import record_event
from connector.store.exchange_queries import ExchangeQueries, ReceiptTake
from connector.store.store import Store
from connector.store.tables import EventRow

__all__ = ["ReceiptIntake", "note_verifiers"]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def note_verifiers(
    resolver: DidResolver, peer_did: str, *, fresh: bool = False
) -> list[NoteVerifier]:
    """The keys `peer_did`'s notes are signed with, from its DID document (`fresh`: read
    again, for a key we have not seen yet: a rotation)."""
    document = await (resolver.refreshed(peer_did) if fresh else resolver.resolve(peer_did))
    return [NoteVerifier(origin_for(peer_did), k) for k in document.keys.values()]


class _Notes:
    """The checkpoints of one request, each note verified once; the sender's DID document
    read again at most once, when a note is signed by a key we have not seen."""

    def __init__(self, resolver: DidResolver, peer_did: str) -> None:
        self.resolver = resolver
        self.peer_did = peer_did
        self.origin = origin_for(peer_did)
        self._verifiers: list[NoteVerifier] | None = None
        self._fresh = False
        self._seen: dict[str, Checkpoint | AuditError] = {}

    async def checkpoint(self, note: str) -> Checkpoint:
        seen = self._seen.get(note)
        if seen is None:
            seen = self._seen[note] = await self._verify(note)
        if isinstance(seen, AuditError):
            raise ReceiptError(f"{seen.code}: {seen.message}", code="receipt_invalid")
        return seen

    async def _verify(self, note: str) -> Checkpoint | AuditError:
        if self._verifiers is None:
            self._verifiers = await note_verifiers(self.resolver, self.peer_did)
        try:
            return verify_checkpoint(note, self.origin, self._verifiers)
        except AuditError as exc:
            if self._fresh:
                return exc
        self._fresh = True
        self._verifiers = await note_verifiers(self.resolver, self.peer_did, fresh=True)
        try:
            return verify_checkpoint(note, self.origin, self._verifiers)
        except AuditError as exc:
            return exc


@dataclass(frozen=True)
class _Verified:
    take: ReceiptTake
    process: str
    subject: str  # the peer's pid


class ReceiptIntake:
    def __init__(self, store: Store, clock: Clock, resolver: DidResolver, *, own_did: str) -> None:
        self.store = store
        self.clock = clock
        self.resolver = resolver
        self.own_did = own_did
        self.queries = ExchangeQueries(store)

    async def receive(self, peer_did: str, body: Any) -> dict[str, Any]:
        """The answer to a peer's request: a single receipt's `{"status": "recorded" |
        "repeated"}` (ReceiptError when it is bad), or a batch's `{"outcomes": [...]}`, one
        per receipt in order. A malformed batch is refused whole (ReceiptError
        `receipt_malformed`) and changes nothing."""
        items = batch_items(body)
        if items is None:
            [result] = await self.take(peer_did, [body])
            if isinstance(result, ReceiptError):
                raise result
            return {"status": result}
        return {"outcomes": [outcome_json(r) for r in await self.take(peer_did, items)]}

    async def take(self, peer_did: str, bodies: list[Any]) -> list[str | ReceiptError]:
        """Verify each receipt body and record the good ones in one transaction, the bad
        ones' findings in another: `recorded`, `repeated` or the ReceiptError of each."""
        notes = _Notes(self.resolver, peer_did)
        results: list[str | ReceiptError] = []
        verified: list[tuple[int, _Verified]] = []
        for at, body in enumerate(bodies):
            try:
                verified.append((at, await self._verified(peer_did, body, notes)))
            except ReceiptError as exc:
                results.append(exc)
            else:
                results.append("unknown")  # until the transaction says
        if verified:
            takes = [v.take for _, v in verified]
            taken = await self.store.call(self.queries.take_receipts, takes, self.clock())
            for (at, v), (own, outcome) in zip(verified, taken, strict=True):
                results[at] = _outcome(peer_did, v, own, outcome)
        findings = [
            self._finding(peer_did, body, result)
            for body, result in zip(bodies, results, strict=True)
            if isinstance(result, ReceiptError)
        ]
        if findings:
            await self.store.call(self.queries.record_all, findings)
        return results

    async def _verified(self, peer_did: str, body: Any, notes: _Notes) -> _Verified:
        receipt = Receipt.from_json(body)
        if receipt.origin != notes.origin:
            raise ReceiptError(
                f"a receipt from {peer_did} is of log {receipt.origin!r}, not {notes.origin!r}",
                code="receipt_not_theirs",
            )
        entry = receipt.verify_in(await notes.checkpoint(receipt.checkpoint))
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

        def record_for(own: str) -> EventRow:
            return record_event(
                at=now,
                family="audit",
                action="receipt",
                # Not our pid: a process's own events (its last inbound message) stay its own.
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

        about = (process, str(entry.details.get("role")), peer_did, entry.subject)
        take = ReceiptTake(about, receipt.origin, receipt.seq, receipt.leaf_hash, record_for)
        return _Verified(take, process, entry.subject)

    def _finding(self, peer_did: str, body: Any, error: ReceiptError) -> EventRow:
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


def _outcome(
    peer_did: str, verified: _Verified, own: str | None, outcome: str
) -> str | ReceiptError:
    if own is None:
        return ReceiptError(
            f"we share no {verified.process} {verified.subject!r} with {peer_did}",
            code="receipt_unknown_process",
        )
    if outcome == "conflict":
        return ReceiptError(
            f"{peer_did} gave another receipt for its entry {verified.take.seq} before: "
            "its log shows us two histories",
            code="receipt_conflict",
        )
    return outcome
