"""SQL of the receipt exchange: what `Transaction.seal` adds beside the entries (agreement
records, receipts owed), the sender's outbox, and the receipts peers gave us."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import func, or_
from sqlalchemy.orm.util import identity_key
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
    from connector.store.store import Store, Transaction

__all__ = [
    "ExchangeEvent",
    "ExchangeQueries",
    "Owed",
    "PG_OWED_CLAUSE",
    "ReceiptTake",
    "Settlement",
    "owe_receipts",
    "owed_points",
    "receipts_owed",
    "write_owed",
]

_OUTBOX = SQLModel.metadata.tables[AuditOutboxRow.__tablename__]
_OWE_COLUMNS = (
    "INSERT INTO audit_outbox (entry_seq, peer_did, address, state, attempts, next_attempt_at,"
    " created_at, updated_at)"
)
_OWE_SQL = (
    _OWE_COLUMNS + " SELECT {}, peer_did, {}, 'pending', 0, at, at, at FROM event WHERE seq = {}"
)
# PostgreSQL: `owe_receipts` as a WITH clause of the statement that writes the entries (two
# arrays: entry seqs, event seqs), the address read from the event's process row: a seal's
# receipts cost no round trip of their own. An empty address owes nothing, as above.
PG_OWED_CLAUSE = (
    "owed AS (" + _OWE_COLUMNS + " SELECT v.e, ev.peer_did, p.address, 'pending', 0, ev.at,"
    " ev.at, ev.at FROM unnest(%s::bigint[], %s::bigint[]) AS v (e, s)"
    " JOIN event ev ON ev.seq = v.s"
    " JOIN (SELECT 'negotiation' AS kind, id, counterparty_address AS address FROM negotiation"
    " UNION ALL SELECT 'transfer', id, counterparty_address FROM transfer) AS p"
    " ON p.kind = ev.process AND p.id = ev.process_id WHERE p.address <> '')"
)
_PROCESSES: dict[str, Any] = {
    "negotiation": NegotiationRow,
    "transfer": TransferRow,
}


class ExchangeEvent(Protocol):
    """What `owe_receipts` reads of an event: an `EventRow`, or a row of its columns."""

    @property
    def seq(self) -> int | None: ...
    @property
    def process(self) -> str: ...
    @property
    def process_id(self) -> str: ...
    @property
    def direction(self) -> str: ...
    @property
    def from_state(self) -> str | None: ...
    @property
    def to_state(self) -> str: ...


def owe_receipts(session: Session, events: Sequence[ExchangeEvent], first_seq: int) -> int:
    """Queue a receipt for each appended entry that completes an exchange (`first_seq` is the
    entry of `events[0]`); returns how many were queued."""
    owed = receipts_owed(session, events, first_seq)
    write_owed(session, owed)
    return len(owed)


def _points(
    events: Sequence[ExchangeEvent], first_seq: int
) -> list[tuple[int, ExchangeEvent, Any]]:
    points: list[tuple[int, ExchangeEvent, Any]] = []
    for offset, event in enumerate(events):
        kind = _PROCESSES.get(event.process)
        if event.direction == "record" or kind is None:
            continue
        if exchange_point(f"{event.process}.transition", event.from_state, event.to_state) is None:
            continue
        points.append((first_seq + offset, event, kind))
    return points


def owed_points(events: Sequence[ExchangeEvent], first_seq: int) -> list[tuple[int, int]]:
    """(entry seq, event seq) of each entry that completes an exchange: what `PG_OWED_CLAUSE`
    queues receipts for, the peer's address read by the database."""
    return [(seq, event.seq or 0) for seq, event, _ in _points(events, first_seq)]


def receipts_owed(
    session: Session, events: Sequence[ExchangeEvent], first_seq: int
) -> list[tuple[int, str, int]]:
    """(entry seq, peer address, event seq) of each receipt `owe_receipts` would queue."""
    points = _points(events, first_seq)
    addresses = _addresses(session, {(kind, event.process_id) for _, event, kind in points})
    owed: list[tuple[int, str, int]] = []
    for seq, event, kind in points:
        address = addresses.get((kind, event.process_id))
        if address:
            owed.append((seq, address, event.seq or 0))
    return owed


def write_owed(session: Session, owed: Sequence[tuple[int, str, int]]) -> None:
    """Queue the receipts `receipts_owed` listed."""
    if owed:
        # Straight to the driver, and the peer and times copied from the event row by the
        # database: an ORM row here cost as much as the whole entry, and converting the three
        # times in and out of Python most of what remained (benchmarks/audit.py profile).
        mark = driver.MARK[session.connection().dialect.paramstyle]
        with driver.cursor(session) as raw:
            raw.executemany(_OWE_SQL.format(mark, mark, mark), owed)


def _addresses(session: Session, wanted: set[tuple[Any, str]]) -> dict[tuple[Any, str], str]:
    """The counterparty address of each (process kind, pid): from the session when it holds
    the row (a transition's own process), else one read per kind (the sealer's batch)."""
    found: dict[tuple[Any, str], str] = {}
    missing: dict[Any, list[str]] = {}
    for kind, pid in wanted:
        row = session.identity_map.get(identity_key(kind, pid))
        if row is not None:
            found[(kind, pid)] = row.counterparty_address
        else:
            missing.setdefault(kind, []).append(pid)
    if not missing:
        return found
    mark = driver.MARK[session.connection().dialect.paramstyle]
    with driver.cursor(session) as raw:  # the ORM's select cost a seal of one half its time
        for kind, pids in missing.items():
            sql = (
                f"SELECT id, counterparty_address FROM {kind.__tablename__}"
                f" WHERE id IN ({', '.join([mark] * len(pids))})"
            )
            rows = raw.execute(sql, tuple(pids)).fetchall()
            found.update(((kind, str(r[0])), str(r[1])) for r in rows)
    return found


@dataclass(frozen=True)
class Owed:
    entry_seq: int
    peer_did: str
    address: str
    attempts: int


@dataclass(frozen=True)
class Settlement:
    """How one outbox row ends this attempt: `delivered`, `failed` (with `record` saying so in
    the log) or `pending` again (with `retry_at`)."""

    entry_seq: int
    state: str
    error: str | None = None
    retry_at: datetime | None = None
    record: EventRow | None = None


@dataclass(frozen=True)
class ReceiptTake:
    """A verified receipt to keep: the process it is `about` (process, the sender's role,
    peer DID, the peer's pid), its position and leaf, and the record to write for our pid."""

    about: tuple[str, str, str, str]
    origin: str
    seq: int
    leaf: bytes
    record_for: Callable[[str], EventRow]


Taken = tuple[str | None, str]  # our pid (None: no such process) and the outcome


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
        self.settle_all(now, [Settlement(entry_seq, state, error, retry_at, record)])

    def settle_all(self, now: datetime, settlements: Sequence[Settlement]) -> None:
        """`settle` each row, all in one transaction: the rows of one batch sent together."""
        if not settlements:
            return
        seqs = [s.entry_seq for s in settlements]
        query = select(AuditOutboxRow).where(col(AuditOutboxRow.entry_seq).in_(seqs))
        with self.store.transaction() as tx:
            rows = {row.entry_seq: row for row in tx.session.exec(query).all()}
            for settlement in settlements:
                row = rows.get(settlement.entry_seq)
                if row is None or row.state != "pending":
                    continue
                row.state = settlement.state
                row.attempts += 1
                error = settlement.error
                row.last_error = None if error is None else error[:2000]
                row.next_attempt_at = settlement.retry_at
                row.lease_until = None
                row.updated_at = now
                tx.add(row)
                if settlement.record is not None:
                    tx.add(settlement.record)

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

    def take_receipts(self, takes: Sequence[ReceiptTake], now: datetime) -> list[Taken]:
        """For each take, our pid of the process its `about` names (process, the sender's
        role, peer DID, the peer's pid) and, when we have one, the peer's receipt kept with
        the record its `record_for` makes for our pid: `recorded`, `repeated` (the same
        receipt again: nothing new) or `conflict` (another entry at that position: a split
        view); (None, "unknown") when we share no such process: nothing is written for it.
        One transaction, one commit for all the receipts of a request."""
        taken: list[Taken] = []
        with self.store.transaction() as tx:
            # Each process looked up (and locked, on PostgreSQL) once, all in one order: two
            # batches taken at once cannot then each hold a row the other waits for.
            owns = {about: _own_process(tx, *about) for about in sorted({t.about for t in takes})}
            kept: dict[tuple[str, int], bytes] = {}  # this batch's, not flushed yet
            for take in takes:
                own = owns[take.about]
                if own is None:
                    taken.append((None, "unknown"))
                    continue
                earlier = kept.get((take.origin, take.seq))
                if earlier is not None:
                    taken.append((own, "repeated" if earlier == take.leaf else "conflict"))
                    continue
                outcome = _accept_receipt(
                    tx, take.origin, take.seq, take.leaf, now, take.record_for(own)
                )
                if outcome == "recorded":
                    kept[(take.origin, take.seq)] = take.leaf
                taken.append((own, outcome))
        return taken

    def record_all(self, events: Sequence[EventRow]) -> None:
        if events:
            with self.store.transaction() as tx:
                for event in events:
                    tx.add(event)

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


def _own_process(
    tx: Transaction, process: str, sender_role: str, peer_did: str, peer_pid: str
) -> str | None:
    kind = _PROCESSES.get(process)
    if kind is None or sender_role not in ("provider", "consumer"):
        return None
    role = "consumer" if sender_role == "provider" else "provider"
    return tx.process_id_by_peer(kind, role=role, counterparty_did=peer_did, peer_pid=peer_pid)


def _accept_receipt(
    tx: Transaction, origin: str, seq: int, leaf: bytes, now: datetime, record: EventRow
) -> str:
    known = tx.session.get(AuditReceiptRow, (origin, seq))
    if known is not None:
        return "repeated" if bytes(known.leaf) == leaf else "conflict"
    tx.add(AuditReceiptRow(origin=origin, seq=seq, leaf=leaf, received_at=now))
    tx.add(record)
    return "recorded"
