"""Receipts: one side's proof, handed to the other side, that an exchange is in its log.

When an agreement is finalised and when a transfer starts and ends, each connector sends the
other a receipt for the entry that records it: the entry's canonical JSON, its position, its
inclusion proof and the signed checkpoint that covers it. The receipt is self-contained (in
the manner of C2SP tlog-proof): anyone holding the sender's key verifies it offline. The
receiver records it in its own log, so each log holds the other side's word about the same
exchange, and an auditor can tell an exchange one side omitted or reported differently.

    {"type": "tsunagu.receipt/v1", "origin": "did:web:.../audit", "seq": 12,
     "entry": "{...canonical JSON...}", "proof": ["base64", ...], "checkpoint": "signed note"}

The receipts one connector owes another are sent together, as a batch of at most `MAX_BATCH`
(they usually share one checkpoint, so the receiver checks its signature once):

    {"type": "tsunagu.receipts/v1", "receipts": [<receipt>, ...]}
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from connector.audit.checkpoint import Checkpoint, NoteVerifier, verify_checkpoint
from connector.audit.entries import Entry, canonical_json
from connector.audit.errors import AuditError, ReceiptError
from connector.audit.merkle import HASH_SIZE, leaf_hash, verify_inclusion

__all__ = [
    "BATCH_TYPE",
    "MAX_BATCH",
    "RECEIPT_TYPE",
    "Receipt",
    "batch_items",
    "batch_json",
    "exchange_point",
]

RECEIPT_TYPE = "tsunagu.receipt/v1"
BATCH_TYPE = "tsunagu.receipts/v1"
MAX_BATCH = 64  # receipts per request: a batch's answer and work stay bounded
_BATCH_FIELDS = {"type", "receipts"}
_FIELDS = {"type", "origin", "seq", "entry", "proof", "checkpoint"}
_MAX_PROOF = 64
_MAX_ENTRY = 256 * 1024


def exchange_point(kind: str, from_state: str | None, to_state: str) -> str | None:
    """Which exchange a state change completes, if it is one both sides vouch for:
    `agreement` (a negotiation finalised), `transfer_started`, `transfer_ended`."""
    if kind == "negotiation.transition" and to_state == "FINALIZED":
        return "agreement"
    if kind == "transfer.transition":
        if to_state == "STARTED" and from_state != "STARTED":
            return "transfer_started"
        if to_state in ("COMPLETED", "TERMINATED") and from_state in ("STARTED", "SUSPENDED"):
            return "transfer_ended"
    return None


def point_of(entry: Mapping[str, Any]) -> str | None:
    """`exchange_point` of an entry's JSON (None for any other entry)."""
    details = entry.get("details")
    if not isinstance(details, Mapping):
        return None
    to_state = details.get("to")
    return exchange_point(
        str(entry.get("kind")),
        details.get("from") if isinstance(details.get("from"), str) else None,
        to_state if isinstance(to_state, str) else "",
    )


def batch_json(receipts: Sequence[Receipt]) -> dict[str, Any]:
    """The body that carries `receipts` (1 to `MAX_BATCH`) in one request."""
    if not 0 < len(receipts) <= MAX_BATCH:
        raise ValueError(f"a batch carries 1 to {MAX_BATCH} receipts, not {len(receipts)}")
    return {"type": BATCH_TYPE, "receipts": [r.to_json() for r in receipts]}


def batch_items(body: Any) -> list[Any] | None:
    """The receipts of a batch body, each still to be read (`Receipt.from_json`); None when
    `body` is no batch (a single receipt, as older senders send, or not even that). A body
    that means to be a batch (its type, or a `receipts` field) and is not one is refused
    whole: ReceiptError `receipt_malformed`."""
    if not isinstance(body, dict) or (body.get("type") != BATCH_TYPE and "receipts" not in body):
        return None
    if set(body) != _BATCH_FIELDS or body["type"] != BATCH_TYPE:
        raise ReceiptError(
            f"a receipt batch has exactly the fields {sorted(_BATCH_FIELDS)}, type {BATCH_TYPE}",
            code="receipt_malformed",
        )
    items = body["receipts"]
    if not isinstance(items, list) or not 0 < len(items) <= MAX_BATCH:
        raise ReceiptError(
            f"receipts must be a list of 1 to {MAX_BATCH} receipts", code="receipt_malformed"
        )
    return items


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass(frozen=True)
class Receipt:
    origin: str  # the sender's log
    seq: int
    entry: str  # the entry's canonical JSON: its leaf is SHA-256(0x00 || these bytes)
    proof: tuple[bytes, ...]  # audit path of `seq` in the checkpoint's tree
    checkpoint: str  # the sender's signed note covering `seq`

    def to_json(self) -> dict[str, Any]:
        return {
            "type": RECEIPT_TYPE,
            "origin": self.origin,
            "seq": self.seq,
            "entry": self.entry,
            "proof": [_b64(h) for h in self.proof],
            "checkpoint": self.checkpoint,
        }

    @property
    def leaf_hash(self) -> bytes:
        return leaf_hash(self.entry.encode())

    @classmethod
    def from_json(cls, data: Any) -> Receipt:
        """Strict: exactly the fields we write, each of its type (ReceiptError otherwise)."""
        if not isinstance(data, dict) or set(data) != _FIELDS:
            raise ReceiptError(
                f"a receipt has exactly the fields {sorted(_FIELDS)}", code="receipt_malformed"
            )
        if data["type"] != RECEIPT_TYPE:
            raise ReceiptError(f"unknown receipt type {data['type']!r}", code="receipt_malformed")
        seq = data["seq"]
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise ReceiptError("seq must be a non-negative integer", code="receipt_malformed")
        for name in ("origin", "entry", "checkpoint"):
            if not isinstance(data[name], str) or not data[name]:
                raise ReceiptError(f"{name} must be a non-empty string", code="receipt_malformed")
        if len(data["entry"]) > _MAX_ENTRY:
            raise ReceiptError("the entry is too large", code="receipt_malformed")
        proof = data["proof"]
        if not isinstance(proof, list) or len(proof) > _MAX_PROOF:
            raise ReceiptError("proof must be a list of hashes", code="receipt_malformed")
        hashes = []
        for item in proof:
            try:
                raw = base64.b64decode(str(item).encode("ascii"), validate=True)
            except (binascii.Error, UnicodeEncodeError) as exc:
                raise ReceiptError("a proof hash is not base64", code="receipt_malformed") from exc
            if not isinstance(item, str) or len(raw) != HASH_SIZE:
                raise ReceiptError("a proof hash is not 32 bytes", code="receipt_malformed")
            hashes.append(raw)
        return cls(data["origin"], seq, data["entry"], tuple(hashes), data["checkpoint"])

    def verify(self, verifiers: Sequence[NoteVerifier]) -> tuple[Checkpoint, Entry]:
        """The checkpoint and entry, once the checkpoint's signature (by one of `verifiers`,
        for this origin), the entry's form and position, and its inclusion all check out."""
        try:
            checkpoint = verify_checkpoint(self.checkpoint, self.origin, verifiers)
        except AuditError as exc:
            raise ReceiptError(f"{exc.code}: {exc.message}", code="receipt_invalid") from exc
        return checkpoint, self.verify_in(checkpoint)

    def verify_in(self, checkpoint: Checkpoint) -> Entry:
        """The entry, once its form and position and its inclusion in `checkpoint` (already
        verified: it is this receipt's note, parsed) check out."""
        try:
            entry = Entry.from_bytes(self.entry.encode())
            if canonical_json(entry.to_json()) != self.entry.encode():
                raise ReceiptError("the entry is not canonical JSON", code="receipt_malformed")
            if entry.seq != self.seq:
                raise ReceiptError(f"the entry says seq {entry.seq}, the receipt {self.seq}")
            if self.seq >= checkpoint.size:
                raise ReceiptError(f"entry {self.seq} is beyond checkpoint {checkpoint.size}")
            verify_inclusion(self.seq, checkpoint.size, self.leaf_hash, self.proof, checkpoint.root)
        except ReceiptError:
            raise
        except AuditError as exc:
            raise ReceiptError(f"{exc.code}: {exc.message}", code="receipt_invalid") from exc
        return entry
