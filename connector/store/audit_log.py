"""The audit log's SQL: appending entries with tree maintenance, and the reads proofs need.

An append runs inside the transaction that writes the events it records (`Transaction` calls
`append` just before commit, see store.py). It locks the single `audit_head` row, so appends of
several processes on one PostgreSQL database queue there and the sequence stays gap-free: a
transaction that rolls back takes its entries and its head update with it. The lock is taken
last and held only for the few statements of the append, so it does not serialise the rest of
a transition's work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, insert, or_, select, update
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
)
from connector.errors import Conflict, StoreError
from connector.store.audit_tables import (
    HEAD_ID,
    AuditCheckpointRow,
    AuditEntryRow,
    AuditHeadRow,
    AuditNodeRow,
)

if TYPE_CHECKING:  # store.py calls `append`; only the type flows the other way
    from connector.store.store import Store

__all__ = ["AuditQueries", "Checkpointed", "StoredEntry", "append"]

EntryFor = Callable[[int], Entry]  # the entry to write, given the sequence number it gets

_HEAD = (
    select(col(AuditHeadRow.size), col(AuditHeadRow.frontier))
    .where(col(AuditHeadRow.id) == HEAD_ID)
    .with_for_update()
)
_ENTRY_TABLE = SQLModel.metadata.tables[AuditEntryRow.__tablename__]
_NODE_TABLE = SQLModel.metadata.tables[AuditNodeRow.__tablename__]
_HEAD_TABLE = SQLModel.metadata.tables[AuditHeadRow.__tablename__]
_INSERT_ENTRIES = insert(_ENTRY_TABLE)
_INSERT_NODES = insert(_NODE_TABLE)
_UPDATE_HEAD = (
    update(_HEAD_TABLE)
    .where(_HEAD_TABLE.c.id == HEAD_ID)
    .values(size=bindparam("new_size"), frontier=bindparam("new_frontier"))
)
_INSERT_HEAD: dict[str, Any] = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}


def _pack(hashes: Sequence[bytes]) -> bytes:
    return b"".join(hashes)


def _unpack(packed: bytes) -> list[bytes]:
    return [packed[i : i + HASH_SIZE] for i in range(0, len(packed), HASH_SIZE)]


def _lock_head(session: Session) -> Frontier:
    head = session.execute(_HEAD).first()
    if head is None:  # a schema made without the migration's first row
        dialect = session.get_bind().dialect.name
        session.execute(
            _INSERT_HEAD[dialect](_HEAD_TABLE)
            .values(id=HEAD_ID, size=0, frontier=b"")
            .on_conflict_do_nothing(index_elements=["id"])
        )
        head = session.execute(_HEAD).one()
    size, packed = int(head[0]), bytes(head[1])
    frontier = Frontier(size, _unpack(packed))
    if len(frontier.hashes) != size.bit_count():
        raise StoreError(f"audit log head is damaged: {len(frontier.hashes)} roots for {size}")
    return frontier


def append(session: Session, records: Sequence[tuple[int, EntryFor]]) -> int:
    """Append one entry per (event seq, entry maker), in order; returns the new tree size."""
    frontier = _lock_head(session)
    entries: list[dict[str, Any]] = []
    nodes: list[dict[str, Any]] = []
    for event_seq, entry_for in records:
        seq = frontier.size
        body = entry_for(seq).canonical()
        entries.append({"seq": seq, "event_seq": event_seq, "body": body.decode()})
        for level, idx, h in frontier.append(leaf_hash(body)):
            nodes.append({"level": level, "idx": idx, "hash": h})
    if entries:
        session.execute(_INSERT_ENTRIES, entries)
        session.execute(_INSERT_NODES, nodes)
        session.execute(
            _UPDATE_HEAD, {"new_size": frontier.size, "new_frontier": _pack(frontier.hashes)}
        )
    return frontier.size


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


def _nodes(session: Session, keys: set[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    if not keys:
        return {}
    by_level: dict[int, list[int]] = {}
    for level, idx in sorted(keys):
        by_level.setdefault(level, []).append(idx)
    # One (level = ?, idx IN ...) term per level, not a row-value IN: SQLite answers those
    # from the primary key, where `(level, idx) IN (...)` scanned the whole table.
    where = or_(
        *(
            and_(col(AuditNodeRow.level) == level, col(AuditNodeRow.idx).in_(idxs))
            for level, idxs in by_level.items()
        )
    )
    rows = session.execute(
        select(col(AuditNodeRow.level), col(AuditNodeRow.idx), col(AuditNodeRow.hash)).where(where)
    ).all()
    found = {(int(r[0]), int(r[1])): bytes(r[2]) for r in rows}
    missing = keys - found.keys()
    if missing:
        raise StoreError(f"audit tree nodes missing: {sorted(missing)[:5]}")
    return found


def _hashes_of(session: Session, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
    """The roots of the given subtrees, from one read of the perfect nodes they fold."""
    parts = [perfect_subtrees(a, b) for a, b in ranges]
    nodes = _nodes(session, {key for part in parts for key in part})
    return [fold([nodes[key] for key in part]) for part in parts]


class AuditQueries:
    """Reads (and checkpoint writes) of the audit API, each in its own transaction."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def size(self) -> int:
        with self.store.transaction() as tx:
            return _size(tx.session)

    def root(self, size: int) -> bytes:
        with self.store.transaction() as tx:
            _check_size(tx.session, size)
            return _root(tx.session, size)

    def entries(self, start: int, limit: int) -> list[StoredEntry]:
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
        with self.store.transaction() as tx:
            rows = tx.session.execute(query).all()
        return [StoredEntry(int(r[0]), r[1], None if r[2] is None else bytes(r[2])) for r in rows]

    def inclusion_proof(self, seq: int, size: int) -> list[bytes]:
        with self.store.transaction() as tx:
            _check_size(tx.session, size)
            return _hashes_of(tx.session, inclusion_ranges(seq, size))

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        with self.store.transaction() as tx:
            _check_size(tx.session, new)
            if old == new:
                return []
            return _hashes_of(tx.session, consistency_ranges(old, new))

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

    def make_checkpoint(self, sign: Callable[[int, bytes], str], now: datetime) -> Checkpointed:
        """Sign the current tree head, once per size, and keep the note.

        Refuses (Conflict `log_inconsistent`) when the stored tree no longer extends the last
        checkpoint: the log must never sign two inconsistent checkpoints, so damage to the
        tables stops here instead of being blessed with a fresh signature."""
        with self.store.transaction() as tx:
            session = tx.session
            size = _size(session)
            existing = session.get(AuditCheckpointRow, size)
            if existing is not None:
                return _checkpointed(existing)
            latest = (
                session.execute(
                    select(AuditCheckpointRow)
                    .order_by(col(AuditCheckpointRow.size).desc())
                    .limit(1)
                )
                .scalars()
                .first()
            )
            if latest is not None:
                if latest.size > size or _root(session, latest.size) != bytes(latest.root):
                    raise Conflict(
                        f"the stored log (size {size}) does not extend checkpoint "
                        f"{latest.size}; refusing to sign",
                        code="log_inconsistent",
                    )
            root = _root(session, size)
            row = AuditCheckpointRow(size=size, root=root, note=sign(size, root), created_at=now)
            session.add(row)
            return _checkpointed(row)


def _size(session: Session) -> int:
    value = session.execute(
        select(col(AuditHeadRow.size)).where(col(AuditHeadRow.id) == HEAD_ID)
    ).scalar()
    return int(value or 0)


def _check_size(session: Session, size: int) -> None:
    current = _size(session)
    if not 0 <= size <= current:
        raise ProofError(
            f"the log has {current} entries; there is no tree of size {size}",
            code="proof_bad_size",
        )


def _root(session: Session, size: int) -> bytes:
    return EMPTY_ROOT if size == 0 else _hashes_of(session, [(0, size)])[0]


def _checkpointed(row: AuditCheckpointRow) -> Checkpointed:
    return Checkpointed(row.size, bytes(row.root), row.note, row.created_at)
