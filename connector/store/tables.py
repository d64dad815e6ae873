"""SQLModel tables: the connector's persisted state.

Negotiations and transfers carry their own outbound work: `pending` names the message we still
owe the peer (the local "-ING" state), and `next_attempt_at` / `lease_owner` / `lease_until`
let several connector processes share one database without sending a message twice.
Timestamps are aware UTC datetimes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

JsonDict = dict[str, Any]


class DatasetRow(SQLModel, table=True):
    __tablename__ = "dataset"

    id: str = Field(primary_key=True, max_length=512)
    title: str = Field(max_length=512)
    description: str = Field(default="", max_length=4096)
    keywords: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    themes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Where the owner's system is; never shown to peers.
    data_address: JsonDict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime


class OfferRow(SQLModel, table=True):
    __tablename__ = "offer"

    id: str = Field(primary_key=True, max_length=512)
    dataset_id: str = Field(foreign_key="dataset.id", index=True, max_length=512)
    policy: JsonDict = Field(sa_column=Column(JSON, nullable=False))
    requires_approval: bool = False
    created_at: datetime


class NegotiationRow(SQLModel, table=True):
    __tablename__ = "negotiation"
    __table_args__ = (
        # A repeated initial request from the same participant maps onto the same process.
        UniqueConstraint("role", "counterparty_did", "peer_pid", name="uq_negotiation_peer_pid"),
        Index("ix_negotiation_due", "next_attempt_at"),
    )

    id: str = Field(primary_key=True, max_length=256)  # our own pid
    role: str = Field(max_length=16)
    state: str = Field(max_length=32)
    peer_pid: str | None = Field(default=None, max_length=256)
    counterparty_did: str = Field(max_length=512)
    counterparty_address: str = Field(max_length=2048)
    dataset_id: str = Field(max_length=512)
    offer: JsonDict = Field(sa_column=Column(JSON, nullable=False))
    offer_by: str = Field(max_length=16)  # role that made the current offer
    agreement_id: str | None = Field(default=None, max_length=256)
    awaiting_decision: bool = False
    pending: str | None = Field(default=None, max_length=32)
    pending_detail: JsonDict | None = Field(default=None, sa_column=Column(JSON))
    attempts: int = 0
    next_attempt_at: datetime | None = None
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_until: datetime | None = None
    last_error: str | None = Field(default=None, max_length=2048)
    created_at: datetime
    updated_at: datetime


class AgreementRow(SQLModel, table=True):
    __tablename__ = "agreement"

    id: str = Field(primary_key=True, max_length=256)
    negotiation_id: str = Field(foreign_key="negotiation.id", index=True, max_length=256)
    dataset_id: str = Field(max_length=512)
    provider_did: str = Field(max_length=512)
    consumer_did: str = Field(max_length=512)
    policy: JsonDict = Field(sa_column=Column(JSON, nullable=False))
    signed_at: datetime


class TransferRow(SQLModel, table=True):
    __tablename__ = "transfer"
    __table_args__ = (
        UniqueConstraint("role", "counterparty_did", "peer_pid", name="uq_transfer_peer_pid"),
        Index("ix_transfer_due", "next_attempt_at"),
    )

    id: str = Field(primary_key=True, max_length=256)
    role: str = Field(max_length=16)
    state: str = Field(max_length=32)
    peer_pid: str | None = Field(default=None, max_length=256)
    counterparty_did: str = Field(max_length=512)
    counterparty_address: str = Field(max_length=2048)
    agreement_id: str = Field(max_length=256, index=True)
    format: str = Field(max_length=128)
    data_address: JsonDict | None = Field(default=None, sa_column=Column(JSON))
    pending: str | None = Field(default=None, max_length=32)
    pending_detail: JsonDict | None = Field(default=None, sa_column=Column(JSON))
    attempts: int = 0
    next_attempt_at: datetime | None = None
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_until: datetime | None = None
    last_error: str | None = Field(default=None, max_length=2048)
    created_at: datetime
    updated_at: datetime


class EventRow(SQLModel, table=True):
    """One state change, written in the same transaction as the change itself.

    This is the seam the audit log builds on: nothing changes state without a row here.
    """

    __tablename__ = "event"

    seq: int | None = Field(default=None, primary_key=True)
    at: datetime
    process: str = Field(max_length=16)  # "negotiation" | "transfer"
    process_id: str = Field(max_length=256, index=True)
    role: str = Field(max_length=16)
    direction: str = Field(max_length=16)  # inbound | outbound | local
    message: str = Field(max_length=64)
    from_state: str | None = Field(default=None, max_length=32)
    to_state: str = Field(max_length=32)
    peer_did: str = Field(max_length=512)
    detail: JsonDict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class SeenTokenRow(SQLModel, table=True):
    """Token ids seen, kept until the token expires, so a replayed token is refused."""

    __tablename__ = "seen_token"

    issuer: str = Field(primary_key=True, max_length=512)
    jti: str = Field(primary_key=True, max_length=256)
    expires_at: datetime = Field(index=True)
