"""Tables of the receipts exchanged between the two sides of an exchange (issue 10 §3).

`audit_outbox` holds the receipts we owe peers: one row per entry of ours that completes an
exchange, written in the transaction that appends the entry, sent later by the receipt
exchange's loop (never from a request handler). `audit_receipt` remembers the receipts peers
gave us, one per (their log, their entry), so a repeated delivery is recorded once and a
second, different receipt for the same entry is caught.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, LargeBinary
from sqlmodel import Field, SQLModel


class AuditOutboxRow(SQLModel, table=True):
    __tablename__ = "audit_outbox"

    entry_seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    peer_did: str = Field(max_length=512)
    address: str = Field(max_length=2048)  # the peer's DSP base, as its process row has it
    state: str = Field(default="pending", max_length=16)  # pending | delivered | failed
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, index=True)
    lease_until: datetime | None = None
    last_error: str | None = Field(default=None, max_length=2048)
    created_at: datetime
    updated_at: datetime


class AuditReceiptRow(SQLModel, table=True):
    __tablename__ = "audit_receipt"

    origin: str = Field(primary_key=True, max_length=600)
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    leaf: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    received_at: datetime


class AuditWitnessRow(SQLModel, table=True):
    """As a witness: the last checkpoint we cosigned of each peer's log."""

    __tablename__ = "audit_witness"

    origin: str = Field(primary_key=True, max_length=600)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    root: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    updated_at: datetime


class AuditCosignatureRow(SQLModel, table=True):
    """Cosignatures peers made of our checkpoints (served to auditors)."""

    __tablename__ = "audit_cosignature"

    size: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    witness: str = Field(primary_key=True, max_length=512)  # the witness's DID (its key name)
    line: str = Field(max_length=1024)  # the signature line
    cosigned_at: datetime
