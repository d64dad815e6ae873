"""Tables of the data plane: token grants, agreement usage, consumer credentials, push jobs and
push sinks. Kept apart from `tables.py` so the control plane's schema stays readable.

Secrets (refresh tokens, sink tokens) are stored as SHA-256 hashes only; a copied database
does not let anyone refresh or push.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel


class DataGrantRow(SQLModel, table=True):
    """Provider side: the tokens of one pull transfer.

    Refresh rotates `refresh_current` into `refresh_previous`; the previous token stays valid
    until the current one is used, so a refresh whose response was lost can be repeated."""

    __tablename__ = "data_grant"

    transfer_id: str = Field(primary_key=True, max_length=256)
    consumer_did: str = Field(max_length=512)
    refresh_current: str | None = Field(default=None, max_length=64)
    refresh_previous: str | None = Field(default=None, max_length=64)
    access_expires_at: datetime  # the latest expiry of any access token issued
    updated_at: datetime


class AgreementUsageRow(SQLModel, table=True):
    """Provider side: how often an agreement's data was read, and whether it was revoked."""

    __tablename__ = "agreement_usage"

    agreement_id: str = Field(primary_key=True, max_length=256)
    accesses: int = 0
    last_access_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_reason: str | None = Field(default=None, max_length=1024)


class DataCredentialRow(SQLModel, table=True):
    """Consumer side: the tokens we hold for a pull transfer, refreshed before they expire."""

    __tablename__ = "data_credential"

    transfer_id: str = Field(primary_key=True, max_length=256)
    endpoint: str = Field(max_length=2048)
    access_token: str = Field(max_length=16384)
    refresh_token: str | None = Field(default=None, max_length=512)
    refresh_endpoint: str | None = Field(default=None, max_length=2048)
    expires_at: datetime
    origin: str = Field(max_length=64)  # hash of the start message's token these came from
    updated_at: datetime


class PushJobRow(SQLModel, table=True):
    """Provider side: sending one push transfer's data to the consumer's sink."""

    __tablename__ = "push_job"

    transfer_id: str = Field(primary_key=True, max_length=256)
    state: str = Field(max_length=16)  # pending | done | failed
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, index=True)
    lease_until: datetime | None = None
    bytes_sent: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    last_error: str | None = Field(default=None, max_length=2048)
    updated_at: datetime


class PushSinkRow(SQLModel, table=True):
    """Consumer side: where a provider pushes the data of one transfer."""

    __tablename__ = "push_sink"

    id: str = Field(primary_key=True, max_length=64)
    transfer_id: str | None = Field(default=None, max_length=256, index=True)
    token_hash: str = Field(max_length=64)
    content_type: str | None = Field(default=None, max_length=256)
    received_bytes: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    complete: bool = False
    created_at: datetime
    updated_at: datetime
