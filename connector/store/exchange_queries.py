"""SQL of the receipt exchange: what `Transaction.seal` adds beside the entries (agreement
records, receipts owed), the sender's outbox, and the receipts peers gave us."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_
from sqlmodel import Session, SQLModel, col, select

from connector.audit.cosignature import WitnessState
from connector.audit.receipts import exchange_point
from connector.store import driver
from connector.store.exchange_tables import (
    AuditCosignatureRow,
    AuditOutboxRow,
    AuditReceiptRow,
    AuditWitnessRow,
)
from connector.store.tables import EventRow, NegotiationRow, TransferRow

if TYPE_CHECKING:
    from connector.store.store import Store

__all__ = ["ExchangeQueries", "Owed", "owe_receipts"]

_OUTBOX = SQLModel.metadata.tables[AuditOutboxRow.__tablename__]
_OUTBOX_COLUMNS = (
    "entry_seq",
    "peer_did",
    "address",
    "state",
    "attempts",
    "next_attempt_at",
    "created_at",
    "updated_at",
)
_PROCESSES: dict[str, Any] = {
    "negotiation": NegotiationRow,
    "transfer": TransferRow,
}


def owe_receipts(session: Session, events: Sequence[EventRow], first_seq: int) -> int:
    """Queue a receipt for each appended entry that completes an exchange (`first_seq` is the
    entry of `events[0]`); returns how many were queued."""
    owed: list[tuple[Any, ...]] = []
    for offset, event in enumerate(events):
        kind = _PROCESSES.get(event.process)
        if event.direction == "record" or kind is None:
            continue
        if exchange_point(f"{event.process}.transition", event.from_state, event.to_state) is None:
            continue
        process = session.get(kind, event.process_id)
        if process is None or not process.counterparty_address:
            continue
        owed.append(
            (first_seq + offset, event.peer_did, process.counterparty_address, "pending", 0)
            + (event.at,) * 3
        )
    # Straight to the driver: an ORM row here cost as much as the whole entry (a started or
    # ended transfer owes one on every such transition).
    driver.insert(session, _OUTBOX, _OUTBOX_COLUMNS, owed)
    return len(owed)


@dataclass(frozen=True)
class Owed:
    entry_seq: int
    peer_did: str
    address: str
    attempts: int


class ExchangeQueries:
    def __init__(self, store: Store) -> None:
        self.store = store

    def claim(self, now: datetime, lease_seconds: float, limit: int) -> list[Owed]:
        query = (
            select(AuditOutboxRow)
            .where(
                col(AuditOutboxRow.state) == "pending",
                col(AuditOutboxRow.next_attempt_at) <= now,
                or_(
                    col(AuditOutboxRow.lease_until).is_(None),
                    col(AuditOutboxRow.lease_until) < now,
                ),
            )
            .order_by(col(AuditOutboxRow.entry_seq))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        with self.store.transaction() as tx:
            rows = list(tx.session.exec(query).all())
            for row in rows:
                row.lease_until = now + timedelta(seconds=lease_seconds)
                tx.add(row)
            return [Owed(r.entry_seq, r.peer_did, r.address, r.attempts) for r in rows]

    def next_due(self) -> datetime | None:
        query = select(func.min(col(AuditOutboxRow.next_attempt_at))).where(
            col(AuditOutboxRow.state) == "pending"
        )
        with self.store.transaction() as tx:
            value: datetime | None = tx.session.exec(query).one()
        return value

    def settle(
        self,
        entry_seq: int,
        now: datetime,
        *,
        state: str,
        error: str | None = None,
        retry_at: datetime | None = None,
        record: EventRow | None = None,
    ) -> None:
        """Delivered, failed for good (with `record` saying so in the log), or retried."""
        with self.store.transaction() as tx:
            row = tx.session.get(AuditOutboxRow, entry_seq)
            if row is None or row.state != "pending":
                return
            row.state = state
            row.attempts += 1
            row.last_error = None if error is None else error[:2000]
            row.next_attempt_at = retry_at
            row.lease_until = None
            row.updated_at = now
            tx.add(row)
            if record is not None:
                tx.add(record)

    def pending(self) -> list[tuple[int, str, str, str | None]]:
        """(entry seq, peer, state, last error) of every receipt not yet delivered."""
        query = (
            select(AuditOutboxRow)
            .where(col(AuditOutboxRow.state) != "delivered")
            .order_by(col(AuditOutboxRow.entry_seq))
        )
        with self.store.transaction() as tx:
            rows = tx.session.exec(query).all()
            return [(r.entry_seq, r.peer_did, r.state, r.last_error) for r in rows]

    def own_process(
        self, process: str, sender_role: str, peer_did: str, peer_pid: str
    ) -> str | None:
        """Our pid of the process whose peer (`peer_did`, in `sender_role`) calls it `peer_pid`."""
        kind = _PROCESSES.get(process)
        if kind is None or sender_role not in ("provider", "consumer"):
            return None
        role = "consumer" if sender_role == "provider" else "provider"
        with self.store.transaction() as tx:
            row = tx.process_by_peer(kind, role=role, counterparty_did=peer_did, peer_pid=peer_pid)
            return None if row is None else row.id

    def accept_receipt(
        self, origin: str, seq: int, leaf: bytes, now: datetime, record: EventRow
    ) -> str:
        """Keep a peer's receipt and record it: `recorded`, `repeated` (the same receipt again:
        nothing new), or `conflict` (another entry at that position: a split view, recorded)."""
        with self.store.transaction() as tx:
            known = tx.session.get(AuditReceiptRow, (origin, seq))
            if known is not None:
                if bytes(known.leaf) == leaf:
                    return "repeated"
                return "conflict"
            tx.add(AuditReceiptRow(origin=origin, seq=seq, leaf=leaf, received_at=now))
            tx.add(record)
            return "recorded"

    def record(self, event: EventRow) -> None:
        with self.store.transaction() as tx:
            tx.add(event)

    # -- witnessing ------------------------------------------------------------------------

    def witnessed(self, origin: str) -> WitnessState | None:
        with self.store.transaction() as tx:
            row = tx.session.get(AuditWitnessRow, origin)
            return None if row is None else WitnessState(row.size, bytes(row.root))

    def cosigned(
        self,
        origin: str,
        expected: WitnessState | None,
        new: WitnessState,
        now: datetime,
        record: EventRow,
    ) -> bool:
        """Move our witness state of `origin` from `expected` to `new` (compare-and-set, so
        two requests cannot both cosign from the same state); False if it moved meanwhile."""
        with self.store.transaction() as tx:
            row = tx.session.get(AuditWitnessRow, origin, with_for_update=True)
            current = None if row is None else WitnessState(row.size, bytes(row.root))
            if current != expected:
                return False
            if row is None:
                row = AuditWitnessRow(origin=origin, size=new.size, root=new.root, updated_at=now)
            row.size, row.root, row.updated_at = new.size, new.root, now
            tx.add(row)
            tx.add(record)
            return True

    def witness_size(self, witness: str) -> int:
        """The largest size `witness` cosigned of our log (0: none yet)."""
        query = select(func.max(col(AuditCosignatureRow.size))).where(
            col(AuditCosignatureRow.witness) == witness
        )
        with self.store.transaction() as tx:
            value = tx.session.exec(query).one()
            return int(value or 0)

    def keep_cosignature(self, size: int, witness: str, line: str, now: datetime) -> None:
        with self.store.transaction() as tx:
            if tx.session.get(AuditCosignatureRow, (size, witness)) is None:
                tx.add(AuditCosignatureRow(size=size, witness=witness, line=line, cosigned_at=now))

    def cosignatures(self) -> list[tuple[int, str, str]]:
        """(size, witness, line) of every cosignature of our log, by size."""
        query = select(AuditCosignatureRow).order_by(
            col(AuditCosignatureRow.size), col(AuditCosignatureRow.witness)
        )
        with self.store.transaction() as tx:
            return [(r.size, r.witness, r.line) for r in tx.session.exec(query).all()]
