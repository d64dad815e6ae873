"""One peer's receipts as one request: made together, and the peer's answer for each.

A batch costs one checkpoint (signed once per size, so usually already there), one read of
its entries and one of all their proofs, and one signed request: sent one by one, each
receipt cost all of that (a third of a provider's CPU in benchmarks/negotiation.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connector.audit.checkpoint import origin_for
from connector.audit.errors import ReceiptError
from connector.audit.receipts import MAX_BATCH, Receipt
from connector.control.checkpoints import checkpoint_now
from connector.errors import PeerError
from connector.identity.keys import KeyRing
from connector.store.audit_log import AuditQueries

__all__ = [
    "Batch",
    "KEPT",
    "MAX_REQUEST_BYTES",
    "build_batch",
    "outcome_json",
    "read_outcomes",
    "spans",
]

KEPT = ("recorded", "repeated")  # what a receiver answers for a receipt it holds now
# Well inside a receiver's body limit (`[limits] max_body_bytes`, 1 MiB by default): a
# receipt is a few kB, but the format allows an entry up to 256 kB.
MAX_REQUEST_BYTES = 512 * 1024
_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")


@dataclass(frozen=True)
class Batch:
    receipts: dict[int, Receipt]  # by entry seq, all under one checkpoint
    missing: dict[int, ReceiptError]  # the seqs asked for that are not in the log


def build_batch(
    keys: KeyRing, own_did: str, log: AuditQueries, now: datetime, seqs: Sequence[int]
) -> Batch:
    """Our receipts for the entries `seqs`, signed at the log's current size (made if need
    be). A damaged log refuses to sign: AuditError for the whole batch."""
    checkpoint = checkpoint_now(keys, own_did, log, now)
    stored = {e.seq: e.body for e in log.entries_at(seqs)}
    present = [seq for seq in seqs if seq in stored]
    proofs = log.inclusion_proofs(present, checkpoint.size)
    origin = origin_for(own_did)
    return Batch(
        receipts={
            seq: Receipt(origin, seq, stored[seq], tuple(proof), checkpoint.note)
            for seq, proof in zip(present, proofs, strict=True)
        },
        missing={
            seq: ReceiptError(f"entry {seq} is not in the log", code="receipt_unavailable")
            for seq in seqs
            if seq not in stored
        },
    )


def spans(receipts: Sequence[Receipt], max_bytes: int = MAX_REQUEST_BYTES) -> list[tuple[int, int]]:
    """(start, end) of each request that carries `receipts`: at most MAX_BATCH each, and
    about `max_bytes` (one receipt larger than that still goes, alone)."""
    found: list[tuple[int, int]] = []
    start, size = 0, 0
    for at, receipt in enumerate(receipts):
        # its JSON's size, near enough: the strings as escaped, 47 bytes a proof hash, 200
        # for the rest
        text = len(json.dumps(receipt.entry)) + len(json.dumps(receipt.checkpoint))
        cost = text + 47 * len(receipt.proof) + 200
        if at > start and (size + cost > max_bytes or at - start >= MAX_BATCH):
            found.append((start, at))
            start, size = at, 0
        size += cost
    if start < len(receipts):
        found.append((start, len(receipts)))
    return found


def outcome_json(result: str | ReceiptError) -> dict[str, str]:
    """What the receiver answers for one receipt of a batch."""
    if isinstance(result, ReceiptError):
        return {"status": "refused", "code": result.code, "message": result.message[:1000]}
    return {"status": result}


def read_outcomes(answer: Any, count: int) -> list[tuple[str, str] | None]:
    """The peer's word on each of the `count` receipts it was sent, in order: None when it
    holds it now, else (code, message) of its refusal. PeerError when the answer is not
    one (retried: the receipts it did keep are `repeated` the next time)."""
    outcomes = answer.get("outcomes") if isinstance(answer, dict) else None
    if not isinstance(outcomes, list) or len(outcomes) != count:
        raise PeerError(f"the peer's answer has no outcome for each of {count} receipts")
    read: list[tuple[str, str] | None] = []
    for outcome in outcomes:
        status = outcome.get("status") if isinstance(outcome, dict) else None
        if status in KEPT:
            read.append(None)
            continue
        code = outcome.get("code") if isinstance(outcome, dict) else None
        if status != "refused" or not isinstance(code, str) or not _CODE.fullmatch(code):
            raise PeerError(f"the peer's answer has an outcome we do not know: {outcome!r:.200}")
        message = outcome.get("message")
        read.append((code, message[:500] if isinstance(message, str) else ""))
    return read
