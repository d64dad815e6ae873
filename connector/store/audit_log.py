"""The audit log's SQL: appending entries with tree maintenance, and the reads proofs need.

The transaction that writes events leaves them pending, and `seal_pending` appends them in
batches a few ms later (`Store.seal_delay`, store.py), making each entry from its event row:
fewer rows and tables in every business commit, and on PostgreSQL no business commit ever
waits for the log's head lock (held across another process's WAL flush, it made every commit
queue behind the one before). SQLite: the events after the last one sealed are the pending ones
(events commit in sequence order there), and the batch is sealed by the next transaction
(which holds the one write lock anyway) or the store's sealer thread. PostgreSQL: a pending
row per event, written in the events' own INSERT (`PG_PENDING_WITH_EVENTS`), sealed by the
sealer thread. The sequence stays gap-free (numbers are given only under the head lock, in the
transaction that writes the entries, so a rollback takes its numbers with it), and every
committed event gets exactly one entry: it is pending from its commit until the transaction
that writes its entry."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from sqlalchemy import Dialect, and_, select, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, SQLModel, col

from connector.audit.entries import Entry
from connector.audit.errors import ProofError
from connector.audit.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    Frontier,
    consistency_ranges,
    fold,
    inclusion_ranges,
    leaf_hash,
    perfect_subtrees,
    verify_consistency,
)
from connector.errors import Conflict, StoreError
from connector.store import driver
from connector.store.audit_records import KEY_FAMILY, RECORD, ROTATED
from connector.store.audit_tables import (
    HEAD_ID,
    AuditCheckpointRow,
    AuditEntryRow,
    AuditHeadRow,
    AuditNodeRow,
    AuditPendingRow,
)
from connector.store.exchange_queries import PG_OWED_CLAUSE, owe_receipts, owed_points
from connector.store.tables import EventRow

if TYPE_CHECKING:  # store.py calls `append`; only the type flows the other way
    from connector.store.store import Store

__all__ = [
    "AuditQueries",
    "Checkpointed",
    "PendingEvent",
    "Sealed",
    "StoredEntry",
    "PG_PENDING_WITH_EVENTS",
    "append",
    "entry_for",
    "seal_pending",
]

EntryFor = Callable[[int], Entry]  # the entry to write, given the sequence number it gets
BodyFor = Callable[[int], bytes]  # its canonical bytes, likewise

_ENTRY_TABLE = SQLModel.metadata.tables[AuditEntryRow.__tablename__]
_NODE_TABLE = SQLModel.metadata.tables[AuditNodeRow.__tablename__]
_PENDING_TABLE = SQLModel.metadata.tables[AuditPendingRow.__tablename__]
_HEAD_TABLE = SQLModel.metadata.tables[AuditHeadRow.__tablename__]
_CHECKPOINT_TABLE = SQLModel.metadata.tables[AuditCheckpointRow.__tablename__]
_INSERT_ENTRIES_SQL = "INSERT INTO audit_entry (seq, event_seq, body) VALUES ({}, {}, {})"
_INSERT_NODES_SQL = "INSERT INTO audit_node (level, idx, hash) VALUES ({}, {}, {})"
# The head's read and write go straight to the driver too: through the ORM they cost a third
# of what auditing adds to one state transition (benchmarks/audit.py profile).
_HEAD_SQL = f"SELECT size, frontier, event_seq FROM audit_head WHERE id = {HEAD_ID}"
_LOCK_SUFFIX = {"postgresql": " FOR UPDATE"}  # SQLite: the write transaction is the lock
# SQLite: the head names the last event sealed too (see AuditHeadRow.event_seq).
_UPDATE_HEAD_SQL = (
    f"UPDATE audit_head SET size = {{}}, frontier = {{}}, event_seq = {{}} WHERE id = {HEAD_ID}"
)
# PostgreSQL: entries, nodes, the sealed pending rows, the receipts owed and the head in one
# statement, so one round trip (each costs about as much as the rest of the append). A few
# rows go as VALUES lists (half the server time of unnest for one entry); a larger batch as
# arrays, so any size stays one text (prepared once per connection) within the parameter limit.
_PG_ENTRIES = "entries AS (INSERT INTO audit_entry (seq, event_seq, body) {})"
_PG_NODES = "nodes AS (INSERT INTO audit_node (level, idx, hash) {})"
_PG_SEALED = "sealed AS (DELETE FROM audit_pending WHERE event_seq = ANY(%s::bigint[]))"
_PG_HEAD = f"UPDATE audit_head SET size = %s, frontier = %s WHERE id = {HEAD_ID}"
_PG_FEW = 16  # entries written as VALUES lists at most
_WRITE_PG_ARRAYS_SQL = (
    "WITH "
    + _PG_ENTRIES.format("SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::text[])")
    + ", "
    + _PG_NODES.format("SELECT * FROM unnest(%s::smallint[], %s::bigint[], %s::bytea[])")
    + ", "
    + _PG_SEALED
    + " "
    + _PG_HEAD
)
_WRITE_PG_ARRAYS_OWED_SQL = _WRITE_PG_ARRAYS_SQL.replace(
    " " + _PG_HEAD, ", " + PG_OWED_CLAUSE + " " + _PG_HEAD
)


@functools.lru_cache(maxsize=256)
def _write_pg_few_sql(entries: int, nodes: int, sealed: bool, owed: bool) -> str:
    def rows(n: int) -> str:
        return "VALUES " + ", ".join(["(%s, %s, %s)"] * n)

    parts = [_PG_ENTRIES.format(rows(entries)), _PG_NODES.format(rows(nodes))]
    if sealed:
        parts.append(_PG_SEALED)
    if owed:
        parts.append(PG_OWED_CLAUSE)
    return "WITH " + ", ".join(parts) + " " + _PG_HEAD


_INSERT_HEAD: dict[str, Any] = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}


def _pack(hashes: Sequence[bytes]) -> bytes:
    return b"".join(hashes)


def _unpack(packed: bytes) -> list[bytes]:
    return [packed[i : i + HASH_SIZE] for i in range(0, len(packed), HASH_SIZE)]


def _frontier(size: int, packed: bytes) -> Frontier:
    frontier = Frontier(size, _unpack(packed))
    if len(frontier.hashes) != size.bit_count():
        raise StoreError(f"audit log head is damaged: {len(frontier.hashes)} roots for {size}")
    return frontier


class _Head(NamedTuple):
    frontier: Frontier
    event_seq: int  # SQLite: the last event sealed (PostgreSQL keeps pending rows instead)


def _lock_head(session: Session) -> _Head:
    connection = session.connection()
    dialect = connection.dialect.name
    query = _HEAD_SQL + _LOCK_SUFFIX.get(dialect, "")
    if dialect == "sqlite":  # in-process: the driver's own cursor (see `_append`)
        with driver.cursor(session) as cursor:
            head = cursor.execute(query).fetchone()
    else:
        head = connection.exec_driver_sql(query).first()
    if head is None:  # a schema made without the migration's first row
        session.execute(
            _INSERT_HEAD[dialect](_HEAD_TABLE)
            .values(id=HEAD_ID, size=0, frontier=b"")
            .on_conflict_do_nothing(index_elements=["id"])
        )
        head = connection.exec_driver_sql(query).one()
    return _Head(_frontier(int(head[0]), bytes(head[1])), int(head[2]))


def append(session: Session, records: Sequence[tuple[int, EntryFor]]) -> int:
    """Append one entry per (event seq, entry maker), in order; returns the new tree size."""
    return _append(session, [(e, _canonical_of(make)) for e, make in records])


def _canonical_of(make: EntryFor) -> BodyFor:
    return lambda seq: make(seq).canonical()


def _append(
    session: Session,
    records: Sequence[tuple[int, BodyFor]],
    frontier: Frontier | None = None,
    sealed: Sequence[int] = (),
    owed: Sequence[tuple[int, int]] = (),
) -> int:
    """Write the entries (PostgreSQL: and delete the pending rows of `sealed`, which they
    replace, and queue the receipts `owed` lists, see exchange_queries.owed_points; SQLite: and
    move the head's last sealed event up to theirs)."""
    frontier = frontier or _lock_head(session).frontier
    entries: list[tuple[int, int, str]] = []
    nodes: list[tuple[int, int, bytes]] = []
    for event_seq, body_for in records:
        seq = frontier.size
        body = body_for(seq)
        entries.append((seq, event_seq, body.decode()))
        nodes += frontier.append(leaf_hash(body))
    if not entries:
        return frontier.size
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        head = (frontier.size, _pack(frontier.hashes))
        if len(entries) <= _PG_FEW:
            sql = _write_pg_few_sql(len(entries), len(nodes), bool(sealed), bool(owed))
            values: list[Any] = [v for row in entries for v in row]
            values += [v for row in nodes for v in row]
            values += [list(sealed)] if sealed else []
            values += [[e for e, _ in owed], [s for _, s in owed]] if owed else []
            connection.exec_driver_sql(sql, (*values, *head))
            return frontier.size
        seqs, event_seqs, bodies = zip(*entries, strict=True)
        levels, idxs, hashes = zip(*nodes, strict=True)
        columns: list[Sequence[Any]] = [seqs, event_seqs, bodies, levels, idxs, hashes, sealed]
        if owed:
            columns += [[e for e, _ in owed], [s for _, s in owed]]
        sql = _WRITE_PG_ARRAYS_OWED_SQL if owed else _WRITE_PG_ARRAYS_SQL
        connection.exec_driver_sql(sql, (*map(list, columns), *head))
        return frontier.size
    if owed:
        raise ValueError("receipts are queued with the entries on PostgreSQL only")
    # Straight to the driver's executemany: SQLAlchemy's per-row parameter processing
    # cost more than the inserts themselves (benchmarks/audit.py profile). The entries still
    # pass SQLAlchemy's execution (its events: the crash suite's kill point watches for them);
    # nodes and head go to the DB-API cursor itself, SQLite being in-process: what a statement
    # costs there is mostly SQLAlchemy's own work around it.
    marks = (driver.MARK[connection.dialect.paramstyle],) * 3
    connection.exec_driver_sql(_INSERT_ENTRIES_SQL.format(*marks), entries)
    last_event = max(e for _, e, _ in entries)
    with driver.cursor(session) as cursor:
        cursor.executemany(_INSERT_NODES_SQL.format(*marks), nodes)
        cursor.execute(
            _UPDATE_HEAD_SQL.format(*marks), (frontier.size, _pack(frontier.hashes), last_event)
        )
    return frontier.size


# -- the sealer ------------------------------------------------------------------------------------
#
# A business transaction writes an `audit_pending` row per event; the sealer takes the head
# lock in a transaction of its own and seals whatever is pending, from every process, in one
# batch (see the module's docstring for when). `audit_entry.event_seq` is unique besides.

_SEQ_ZERO = b',"seq":0,"subject":'
# PostgreSQL: the pending rows of events in the INSERT that writes them (the `written` rows of
# `driver.insert_rows`), one statement for both. The empty body: made from the event row.
PG_PENDING_WITH_EVENTS = (
    "INSERT INTO audit_pending (event_seq, body) SELECT seq, '' FROM written RETURNING event_seq"
)
FROM_EVENT = ""  # a pending row's body when the sealer makes the entry from the event row


class EventFields(Protocol):
    """What an entry records of an event: an `EventRow`, or a `PendingEvent`."""

    @property
    def seq(self) -> int | None: ...
    @property
    def at(self) -> datetime: ...
    @property
    def process(self) -> str: ...
    @property
    def process_id(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def direction(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def from_state(self) -> str | None: ...
    @property
    def to_state(self) -> str: ...
    @property
    def peer_did(self) -> str: ...
    @property
    def detail(self) -> Any: ...


def entry_for(row: EventFields) -> EntryFor:
    """The entry that records `row`, given its sequence number."""

    def entry(seq: int) -> Entry:
        if row.direction == RECORD:  # not a state change: see connector.store.audit_records
            return Entry.for_record(
                seq,
                event_seq=row.seq or 0,
                at=row.at,
                kind=f"{row.process}.{row.message}",
                subject=row.process_id,
                peer_did=row.peer_did,
                detail=row.detail,
            )
        return Entry.for_event(
            seq,
            event_seq=row.seq or 0,
            at=row.at,
            process=row.process,
            process_id=row.process_id,
            role=row.role,
            direction=row.direction,
            message=row.message,
            from_state=row.from_state,
            to_state=row.to_state,
            peer_did=row.peer_did,
            detail=row.detail,
        )

    return entry


def _numbered(template: bytes) -> BodyFor:
    # A pending row of an older version carries its entry's canonical JSON made with seq 0.
    # RFC 8785 sorts the keys: details, kind, peer, seq, subject, time, v. Only strings (whose
    # quotes are escaped) follow the top-level "seq", so its occurrence is the last one.
    at = template.rfind(_SEQ_ZERO)
    if at < 0:
        raise StoreError("a pending audit entry has no sequence number to fill in")
    head, tail = template[: at + 7], template[at + 8 :]
    return lambda seq: head + str(seq).encode() + tail


class PendingEvent(NamedTuple):
    """A pending row's event: what its entry records, and the receipts owed for it need (see
    exchange_queries.owe_receipts)."""

    seq: int
    at: datetime
    process: str
    process_id: str
    role: str
    direction: str
    message: str
    from_state: str | None
    to_state: str
    peer_did: str
    detail: Any


# Pending events, in one read, on the driver's cursor: through the ORM this read cost as much
# as the rest of a seal of one, and SQLAlchemy's text still a third. PostgreSQL: those with a
# pending row. SQLite: those after the last one sealed (AuditHeadRow.event_seq), so a
# transition writes no pending row (what auditing adds to a transition: a median +24 % with
# one, +19 % without, benchmarks/audit.py paired runs); but not one with an entry already (only
# a hand in the database makes that: the verifier's to find, and sealing it again would fail
# every seal after it).
_EVENT_COLUMNS = (
    "e.at, e.process, e.process_id, e.role, e.direction, e.message, e.from_state, e.to_state,"
    " e.peer_did, e.detail"
)
_PENDING_SQL = {
    "postgresql": f"SELECT p.event_seq, p.body, {_EVENT_COLUMNS}"
    " FROM audit_pending p JOIN event e ON e.seq = p.event_seq ORDER BY p.event_seq LIMIT %s",
    "sqlite": f"SELECT e.seq, '', {_EVENT_COLUMNS}"
    " FROM event e WHERE e.seq > ?"
    " AND NOT EXISTS (SELECT 1 FROM audit_entry a WHERE a.event_seq = e.seq)"
    " ORDER BY e.seq LIMIT ?",
}
# Whether anything is pending, likewise: one statement outside a transaction (Store.read).
ANY_PENDING_SQL = {
    "postgresql": "SELECT 1 FROM audit_pending LIMIT 1",
    "sqlite": "SELECT 1 FROM event e WHERE e.seq > (SELECT event_seq FROM audit_head)"
    " AND NOT EXISTS (SELECT 1 FROM audit_entry a WHERE a.event_seq = e.seq) LIMIT 1",
}
_EVENT_TABLE = SQLModel.metadata.tables[EventRow.__tablename__]
_CONVERTED = (_EVENT_TABLE.c.at, _EVENT_TABLE.c.detail)  # as the driver returns them: raw


class Sealed(NamedTuple):
    events: list[PendingEvent]  # those sealed, oldest first (none: nothing was pending)
    owed: int  # receipts queued for the exchanges among them (PostgreSQL: at most this many)


def seal_pending(session: Session, limit: int) -> Sealed:
    """Append up to `limit` pending entries, oldest event first, with the receipts their
    exchanges owe the peers (a crash loses neither)."""
    frontier, last = _lock_head(session)  # first: the lock orders the sealers of every process
    first = frontier.size
    dialect = session.connection().dialect
    params = (limit,) if dialect.name == "postgresql" else (last, limit)
    with driver.cursor(session) as cursor:
        rows = cursor.execute(_PENDING_SQL[dialect.name], params).fetchall()
    if not rows:
        return Sealed([], 0)
    events: list[PendingEvent] = []
    bodies: list[tuple[int, BodyFor]] = []
    for r in rows:
        at, detail = driver.processed(dialect, _CONVERTED, (r[2], r[11]))
        event = PendingEvent(int(r[0]), at, r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], detail)
        events.append(event)
        if r[1] == FROM_EVENT:
            bodies.append((event.seq, _canonical_of(entry_for(event))))
        else:
            bodies.append((event.seq, _numbered(r[1].encode())))
    if dialect.name == "postgresql":  # in the one statement; the addresses read there
        owed = owed_points(events, first)
        _append(session, bodies, frontier, [e.seq for e in events], owed)
        return Sealed(events, len(owed))
    _append(session, bodies, frontier)
    return Sealed(events, owe_receipts(session, events, first))


@dataclass(frozen=True)
class StoredEntry:
    seq: int
    body: str  # canonical JSON, as stored
    leaf_hash: bytes | None  # the tree's level-0 node (None if the node row is missing)


@dataclass(frozen=True)
class Checkpointed:
    size: int
    root: bytes
    note: str
    created_at: datetime


def _nodes_where(mark: str, keys: set[tuple[int, int]]) -> tuple[str, list[int]]:
    # One (level = ? AND idx IN (...)) term per level, not a row-value IN: SQLite answers those
    # from the primary key, where `(level, idx) IN (...)` scanned the whole table. Written as
    # text for the driver: building the expression cost more than running it (a proof's
    # profile), and a proof's shape varies too much for SQLAlchemy's statement cache.
    by_level: dict[int, list[int]] = {}
    for level, idx in sorted(keys):
        by_level.setdefault(level, []).append(idx)
    terms: list[str] = []
    params: list[int] = []
    for level, idxs in by_level.items():
        terms.append(f"(level = {mark} AND idx IN ({', '.join([mark] * len(idxs))}))")
        params += [level, *idxs]
    return " OR ".join(terms), params


def _found(rows: Sequence[Any], keys: set[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    found = {(int(r[0]), int(r[1])): bytes(r[2]) for r in rows}
    missing = keys - found.keys()
    if missing:
        raise StoreError(f"audit tree nodes missing: {sorted(missing)[:5]}")
    return found


def _nodes(session: Session, keys: set[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    if not keys:
        return {}
    connection = session.connection()
    where, params = _nodes_where(driver.MARK[connection.dialect.paramstyle], keys)
    sql = "SELECT level, idx, hash FROM audit_node WHERE " + where
    return _found(connection.exec_driver_sql(sql, tuple(params)).all(), keys)


# A checkpoint's reads and write go to the driver: through the ORM (building the statements,
# the row object, its flush) they cost more than the rest of making one (a profile of
# build_batch on a log of 3*10^4 entries).
_CHECKPOINT_NAMES = ("size", "root", "note", "created_at")
_CHECKPOINT_COLUMNS = "c.size, c.root, c.note, c.created_at"
_CREATED_AT = (_CHECKPOINT_TABLE.c.created_at,)
_CURRENT_CHECKPOINT_SQL = (
    f"SELECT {_CHECKPOINT_COLUMNS} FROM audit_head h"
    f" JOIN audit_checkpoint c ON c.size = h.size WHERE h.id = {HEAD_ID}"
)
_ENTRIES_AT_SQL = (
    "SELECT a.seq, a.body, n.hash FROM audit_entry a"
    " LEFT JOIN audit_node n ON n.level = 0 AND n.idx = a.seq"
    " WHERE a.seq IN ({}) ORDER BY a.seq"
)
_LATEST_CHECKPOINT_SQL = (
    f"SELECT {_CHECKPOINT_COLUMNS} FROM audit_checkpoint c ORDER BY c.size DESC LIMIT 1"
)
# The key id the DID's last `key.rotated` record made active (event.process_id is indexed:
# a DID's own records are few).
_ANNOUNCED_SQL = (
    "SELECT a.body FROM audit_entry a JOIN event e ON e.seq = a.event_seq"
    " WHERE e.process_id = {mark} AND e.process = {mark} AND e.message = {mark}"
    " AND e.direction = {mark} ORDER BY a.seq DESC LIMIT 1"
)


class AuditQueries:
    """Reads (and checkpoint writes) of the audit API, each in its own transaction, each after
    this process's pending entries are sealed (`Store.caught_up`): what committed is served."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def size(self) -> int:
        self.store.caught_up()
        with self.store.transaction() as tx:
            return _size(tx.session)

    def root(self, size: int) -> bytes:
        return EMPTY_ROOT if size == 0 else self._proof(size, [(0, size)])[0]

    def entries(self, start: int, limit: int) -> list[StoredEntry]:
        self.store.caught_up()
        with self.store.transaction() as tx:
            return _entries(tx.session, start, limit)

    def entries_at(self, seqs: Sequence[int]) -> list[StoredEntry]:
        """The entries at `seqs` (those in the log), by seq, from one query: a batch of
        receipts reads its entries together."""
        if not seqs:
            return []
        self.store.caught_up()
        # One statement to the driver, outside a transaction: through the ORM, in one, this
        # read cost more than the proofs of the whole batch (build_batch profile).
        marks = ", ".join([self.store.mark] * len(seqs))
        rows = self.store.read(_ENTRIES_AT_SQL.format(marks), list(seqs))
        return [StoredEntry(int(r[0]), r[1], None if r[2] is None else bytes(r[2])) for r in rows]

    def page(self, start: int, limit: int) -> tuple[int, list[StoredEntry]]:
        """The tree size and up to `limit` entries from `start`, read from one snapshot: an
        entry sealed in between (the sealer's, another process's) would otherwise be served
        beyond the size it is served with, and look like one forged behind the log's back."""
        self.store.caught_up()
        with self.store.transaction() as tx:
            session = tx.session
            if session.get_bind().dialect.name == "postgresql":
                # READ COMMITTED takes a fresh snapshot per statement; this one, one for both.
                session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
            return _size(session), _entries(session, start, limit)

    def inclusion_proof(self, seq: int, size: int) -> list[bytes]:
        return self._proof(size, inclusion_ranges(seq, size))

    def inclusion_proofs(self, seqs: Sequence[int], size: int) -> list[list[bytes]]:
        """`inclusion_proof` of each of `seqs` in the tree of `size`, from one statement."""
        per_seq = [inclusion_ranges(seq, size) for seq in seqs]
        hashes = self._proof(size, [r for ranges in per_seq for r in ranges])
        proofs, at = [], 0
        for ranges in per_seq:
            proofs.append(hashes[at : at + len(ranges)])
            at += len(ranges)
        return proofs

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        return self._proof(new, [] if old == new else consistency_ranges(old, new))

    def _proof(self, size: int, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        """The roots of `ranges` in the tree of `size` (checked against the log's), from one
        statement: head and nodes in one snapshot, one round trip (PostgreSQL: a third of
        BEGIN, two SELECTs, COMMIT; proofs had a p95 over 2 ms)."""
        self.store.caught_up()
        parts = [perfect_subtrees(a, b) for a, b in ranges]
        keys = {key for part in parts for key in part}
        sql = f"SELECT -1, size, NULL FROM audit_head WHERE id = {HEAD_ID}"
        params: list[int] = []
        if keys:
            where, params = _nodes_where(self.store.mark, keys)
            sql += " UNION ALL SELECT level, idx, hash FROM audit_node WHERE " + where
        rows = self.store.read(sql, params)
        current = next((int(r[1]) for r in rows if int(r[0]) == -1), 0)
        _check_size_against(current, size)
        nodes = _found([r for r in rows if int(r[0]) != -1], keys)
        return [fold([nodes[key] for key in part]) for part in parts]

    # -- checkpoints ---------------------------------------------------------------------------

    def latest_checkpoint(self) -> Checkpointed | None:
        query = select(AuditCheckpointRow).order_by(col(AuditCheckpointRow.size).desc()).limit(1)
        with self.store.transaction() as tx:
            row = tx.session.execute(query).scalars().first()
        return None if row is None else _checkpointed(row)

    def checkpoint(self, size: int) -> Checkpointed | None:
        with self.store.transaction() as tx:
            row = tx.session.get(AuditCheckpointRow, size)
        return None if row is None else _checkpointed(row)

    def make_checkpoint(
        self,
        sign: Callable[[int, bytes, str | None], str],
        now: datetime,
        *,
        key_owner: str | None = None,
    ) -> Checkpointed:
        """Sign the current tree head, once per size, and keep the note. `sign` gets size,
        root and the key id `key_owner`'s last `key.rotated` entry made active (None: no such
        entry, or no owner given), read under the head lock: a rotation landing at the same
        moment is then either below the size signed or not in the log yet.

        Refuses (Conflict `log_inconsistent`) when the stored tree no longer extends the last
        checkpoint: the log must never sign two inconsistent checkpoints, so damage to the
        tables stops here instead of being blessed with a fresh signature."""
        self.store.caught_up()
        # A size already signed (nothing appended since the last batch or schedule tick) is
        # served from one read, no lock: head and checkpoint from one snapshot.
        current = self.store.read(_CURRENT_CHECKPOINT_SQL)
        if current:
            return _checkpointed_of(self.store.engine.dialect, current[0])
        with self.store.transaction() as tx:
            session = tx.session
            # Under the head lock: two signers of one size (a POST, a receipt, the schedule;
            # threads or processes) queue here and the second finds the first one's note.
            frontier = _lock_head(session).frontier
            connection = session.connection()
            dialect = connection.dialect
            rows = driver.execute(connection, _LATEST_CHECKPOINT_SQL, ())
            latest = _checkpointed_of(dialect, rows[0]) if rows else None
            if latest is not None and latest.size == frontier.size:
                return latest
            root = _extending(session, latest, frontier)
            announced = _announced_kid(session, key_owner) if key_owner else None
            note = sign(frontier.size, root, announced)
            driver.insert_rows(
                session, _CHECKPOINT_TABLE, _CHECKPOINT_NAMES, [(frontier.size, root, note, now)]
            )
            return Checkpointed(frontier.size, root, note, now)


def _extending(session: Session, latest: Checkpointed | None, frontier: Frontier) -> bytes:
    """The root to sign for the tree `frontier` heads, or Conflict `log_inconsistent`: the
    stored nodes must give that tree (inclusion proofs are served from them), and a
    consistency proof from `latest`, the last checkpoint signed, to it must verify as an
    auditor checks one (RFC 6962 §2.1.2). Both from one read of O(log n) nodes.

    Checking the proof, not two roots folded from the nodes (as before): a node rewritten
    above the last checkpoint's subtrees changed the new root without failing that check, so
    a checkpoint inconsistent with the last one could be signed. Now nothing is signed that
    the last checkpoint does not prove a prefix of, whichever rows were rewritten."""
    size = frontier.size
    if latest is not None and latest.size > size:
        raise _inconsistent(size, latest.size)
    edge = Frontier.nodes(size)
    old = latest.size if latest is not None else 0
    ranges = consistency_ranges(old, size) if old else []
    parts = [perfect_subtrees(a, b) for a, b in ranges]
    nodes = _nodes(session, {*edge, *(key for part in parts for key in part)})
    if [nodes[key] for key in edge] != frontier.hashes:
        raise _inconsistent(size, old)
    root = frontier.root()
    if latest is None:
        return root
    if old == 0:  # the empty tree is a prefix of every tree
        if latest.root != EMPTY_ROOT:
            raise _inconsistent(size, old)
        return root
    proof = [fold([nodes[key] for key in part]) for part in parts]
    try:
        verify_consistency(old, size, latest.root, root, proof)
    except ProofError as exc:
        raise _inconsistent(size, old) from exc
    return root


def _inconsistent(size: int, latest: int) -> Conflict:
    return Conflict(
        f"the stored log (size {size}) does not extend checkpoint {latest}; refusing to sign",
        code="log_inconsistent",
    )


def _announced_kid(session: Session, did: str) -> str | None:
    connection = session.connection()
    sql = _ANNOUNCED_SQL.format(mark=driver.MARK[connection.dialect.paramstyle])
    rows = driver.execute(connection, sql, (did, KEY_FAMILY, ROTATED, RECORD))
    if not rows:
        return None
    details: Any = json.loads(rows[0][0]).get("details", {})
    new = details.get("new") if isinstance(details, dict) else None
    return new if isinstance(new, str) else None


def _entries(session: Session, start: int, limit: int) -> list[StoredEntry]:
    query = (
        select(col(AuditEntryRow.seq), col(AuditEntryRow.body), col(AuditNodeRow.hash))
        .outerjoin(
            AuditNodeRow,
            and_(col(AuditNodeRow.level) == 0, col(AuditNodeRow.idx) == AuditEntryRow.seq),
        )
        .where(col(AuditEntryRow.seq) >= start)
        .order_by(col(AuditEntryRow.seq))
        .limit(limit)
    )
    rows = session.execute(query).all()
    return [StoredEntry(int(r[0]), r[1], None if r[2] is None else bytes(r[2])) for r in rows]


def _size(session: Session) -> int:
    value = session.execute(
        select(col(AuditHeadRow.size)).where(col(AuditHeadRow.id) == HEAD_ID)
    ).scalar()
    return int(value or 0)


def _check_size_against(current: int, size: int) -> None:
    if not 0 <= size <= current:
        raise ProofError(
            f"the log has {current} entries; there is no tree of size {size}",
            code="proof_bad_size",
        )


def _checkpointed(row: AuditCheckpointRow) -> Checkpointed:
    return Checkpointed(row.size, bytes(row.root), row.note, row.created_at)


def _checkpointed_of(dialect: Dialect, row: Sequence[Any]) -> Checkpointed:
    """A checkpoint from a driver row of `_CHECKPOINT_COLUMNS`."""
    (created_at,) = driver.processed(dialect, _CREATED_AT, (row[3],))
    return Checkpointed(int(row[0]), bytes(row[1]), row[2], created_at)
