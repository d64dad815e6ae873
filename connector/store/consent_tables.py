"""Tables of consent for personal data: which datasets are personal data (and which column
links a row to its subject), the consent records with their purposes, recipients, datasets
and status history, the signed receipts, and the resident portals allowed to act for subjects.

Purposes, recipients and datasets are rows of their own so that the data plane asks "which
subjects consent to this access now" in one indexed query (consent_queries.py). Times are
stored in UTC.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Index, Text
from sqlmodel import Field, SQLModel


def _utc(nullable: bool = False, index: bool = False) -> Column:  # type: ignore[type-arg]
    return Column(DateTime(timezone=True), nullable=nullable, index=index)


class PersonalDatasetRow(SQLModel, table=True):
    """A dataset holding personal data: only rows of consenting subjects leave the owner."""

    __tablename__ = "personal_dataset"

    dataset_id: str = Field(primary_key=True, max_length=512)
    subject_field: str = Field(max_length=256)  # the CSV column / JSON field naming the subject
    created_at: datetime = Field(sa_column=_utc())


class ConsentRecordRow(SQLModel, table=True):
    __tablename__ = "consent_record"
    __table_args__ = (Index("ix_consent_record_active", "status", "valid_from"),)

    id: str = Field(primary_key=True, max_length=256)
    subject: str = Field(max_length=512, index=True)
    controller: str = Field(max_length=512)
    legal_basis: str = Field(max_length=256)
    valid_from: datetime = Field(sa_column=_utc())
    valid_until: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    status: str = Field(max_length=16)  # given | withdrawn | expired: the last one recorded
    notice: str | None = Field(default=None, max_length=512)
    language: str = Field(default="ja", max_length=16)
    created_at: datetime = Field(sa_column=_utc())
    updated_at: datetime = Field(sa_column=_utc())


class ConsentPurposeRow(SQLModel, table=True):
    __tablename__ = "consent_purpose"
    __table_args__ = (Index("ix_consent_purpose_purpose", "purpose", "record_id"),)

    record_id: str = Field(primary_key=True, foreign_key="consent_record.id", max_length=256)
    purpose: str = Field(primary_key=True, max_length=512)


class ConsentRecipientRow(SQLModel, table=True):
    __tablename__ = "consent_recipient"
    __table_args__ = (Index("ix_consent_recipient_recipient", "recipient", "record_id"),)

    record_id: str = Field(primary_key=True, foreign_key="consent_record.id", max_length=256)
    recipient: str = Field(primary_key=True, max_length=512)


class ConsentDatasetRow(SQLModel, table=True):
    __tablename__ = "consent_dataset"

    record_id: str = Field(primary_key=True, foreign_key="consent_record.id", max_length=256)
    dataset_id: str = Field(primary_key=True, max_length=512)


class ConsentGrantRow(SQLModel, table=True):
    """What a record grants, one row per (purpose, recipient, dataset), with its subject and
    validity copied in: the data plane's question is one index range, no correlated look-ups.
    `active` turns 0 when the record is withdrawn or expires."""

    __tablename__ = "consent_grant"
    __table_args__ = (
        Index("ix_consent_grant_lookup", "recipient", "purpose", "active", "subject"),
    )

    id: int | None = Field(default=None, primary_key=True)
    record_id: str = Field(foreign_key="consent_record.id", max_length=256, index=True)
    subject: str = Field(max_length=512)
    purpose: str = Field(max_length=512)
    recipient: str = Field(max_length=512)
    dataset_id: str | None = Field(default=None, max_length=512)  # None: any dataset
    valid_from: datetime = Field(sa_column=_utc())
    valid_until: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    active: int = 1


class ConsentVersionRow(SQLModel, table=True):
    """One row whose number grows in the transaction of every change to `consent_grant`
    (store.Transaction.seal): a process that kept the subjects of an access reads this one
    number to know, exactly, whether they still hold (connector/dataplane/consent.py)."""

    __tablename__ = "consent_version"

    id: int = Field(default=1, primary_key=True)
    value: int = 0


class ConsentEventRow(SQLModel, table=True):
    """The status history of a record, append-only."""

    __tablename__ = "consent_event"

    seq: int | None = Field(default=None, primary_key=True)
    record_id: str = Field(foreign_key="consent_record.id", max_length=256, index=True)
    status: str = Field(max_length=16)
    at: datetime = Field(sa_column=_utc())
    by: str = Field(default="", max_length=512)
    method: str = Field(default="", max_length=256)


class ConsentReceiptRow(SQLModel, table=True):
    """A signed receipt (compact JWS) issued for one change of a record."""

    __tablename__ = "consent_receipt"

    id: str = Field(primary_key=True, max_length=256)
    record_id: str = Field(foreign_key="consent_record.id", max_length=256, index=True)
    status: str = Field(max_length=16)
    token: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=_utc())


class ConsentPortalRow(SQLModel, table=True):
    """A resident-facing portal allowed to give, withdraw and show consent for a subject.
    Only the SHA-256 of its token is kept."""

    __tablename__ = "consent_portal"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=256, unique=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(sa_column=_utc())
    revoked_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
