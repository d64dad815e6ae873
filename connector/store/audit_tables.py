"""Tables of the audit log: entries, the Merkle tree's perfect subtrees, the log head and the
checkpoints issued.

`audit_node` holds the hash of every *perfect* subtree (2**level leaves from index * 2**level);
any subtree a proof names is a fold of O(log n) of them, and an append completes O(log n) of
them (see `connector.audit.merkle`). Level 0 is the leaf hashes themselves. `audit_head` is a
single row, locked by every appending transaction, so the sequence stays gap-free when several
connector processes share one PostgreSQL database.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, LargeBinary, SmallInteger, Text
from sqlmodel import Field, SQLModel

HEAD_ID = 1


class AuditEntryRow(SQLModel, table=True):
    __tablename__ = "audit_entry"

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    # The event this entry records: one each way (no event without an entry and vice versa).
    event_seq: int = Field(sa_column=Column(ForeignKey("event.seq"), nullable=False, unique=True))
    body: str = Field(sa_column=Column(Text, nullable=False))  # RFC 8785 canonical JSON


class AuditNodeRow(SQLModel, table=True):
    __tablename__ = "audit_node"

    level: int = Field(sa_column=Column(SmallInteger, primary_key=True, autoincrement=False))
    idx: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))


class AuditHeadRow(SQLModel, table=True):
    __tablename__ = "audit_head"

    id: int = Field(default=HEAD_ID, primary_key=True)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    # The roots of the perfect subtrees on the tree's right edge, concatenated (at most 64 x 32
    # bytes): all an append needs, read with the lock, so an append reads no node rows.
    frontier: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # SQLite: the last event sealed. Events commit in sequence order there (one writer), so
    # those after it are the pending ones, and no business commit writes a pending row.
    # PostgreSQL numbers events before their commits, out of order: it keeps `audit_pending`.
    event_seq: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default="0")
    )


class AuditCheckpointRow(SQLModel, table=True):
    """Every checkpoint the connector signed, kept: a later one must be consistent with each."""

    __tablename__ = "audit_checkpoint"

    size: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    root: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    note: str = Field(sa_column=Column(Text, nullable=False))  # the signed note, as served
    created_at: datetime


class AuditPendingRow(SQLModel, table=True):
    """An event committed but not yet in the log (see `audit_log.seal_pending`).

    The business transaction writes this row instead of taking the log's head lock; the sealer
    gives it its sequence number, writes the entry and its nodes, and deletes it, in one
    transaction. PostgreSQL only (SQLite: see `AuditHeadRow.event_seq`). `body` is empty
    (`audit_log.FROM_EVENT`): the sealer makes the entry from the event row; rows of older
    versions may carry the entry's canonical JSON with sequence number 0, spliced at sealing.
    """

    __tablename__ = "audit_pending"

    event_seq: int = Field(
        sa_column=Column(ForeignKey("event.seq"), primary_key=True, autoincrement=False)
    )
    body: str = Field(sa_column=Column(Text, nullable=False))
