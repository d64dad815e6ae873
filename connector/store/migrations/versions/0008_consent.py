"""consent: personal datasets, consent records (purposes, recipients, datasets, status
history), signed receipts and resident portals

Revision ID: 0004_consent
Revises: 0004_audit
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_consent"
down_revision = "0004_audit"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "personal_dataset",
        sa.Column("dataset_id", sa.String(512), nullable=False),
        sa.Column("subject_field", sa.String(256), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("dataset_id"),
    )
    op.create_table(
        "consent_record",
        sa.Column("id", sa.String(256), nullable=False),
        sa.Column("subject", sa.String(512), nullable=False),
        sa.Column("controller", sa.String(512), nullable=False),
        sa.Column("legal_basis", sa.String(256), nullable=False),
        _when("valid_from"),
        _when("valid_until", nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("notice", sa.String(512), nullable=True),
        sa.Column("language", sa.String(16), nullable=False),
        _when("created_at"),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_consent_record_subject", "consent_record", ["subject"])
    op.create_index("ix_consent_record_active", "consent_record", ["status", "valid_from"])
    for table, column, length in (
        ("consent_purpose", "purpose", 512),
        ("consent_recipient", "recipient", 512),
        ("consent_dataset", "dataset_id", 512),
    ):
        op.create_table(
            table,
            sa.Column("record_id", sa.String(256), nullable=False),
            sa.Column(column, sa.String(length), nullable=False),
            sa.ForeignKeyConstraint(["record_id"], ["consent_record.id"]),
            sa.PrimaryKeyConstraint("record_id", column),
        )
    op.create_index("ix_consent_purpose_purpose", "consent_purpose", ["purpose", "record_id"])
    op.create_index(
        "ix_consent_recipient_recipient", "consent_recipient", ["recipient", "record_id"]
    )
    op.create_table(
        "consent_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.String(256), nullable=False),
        sa.Column("subject", sa.String(512), nullable=False),
        sa.Column("purpose", sa.String(512), nullable=False),
        sa.Column("recipient", sa.String(512), nullable=False),
        sa.Column("dataset_id", sa.String(512), nullable=True),
        _when("valid_from"),
        _when("valid_until", nullable=True),
        sa.Column("active", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["consent_record.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_consent_grant_record_id", "consent_grant", ["record_id"])
    op.create_index(
        "ix_consent_grant_lookup", "consent_grant", ["recipient", "purpose", "active", "subject"]
    )
    op.create_table(
        "consent_event",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.String(256), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _when("at"),
        sa.Column("by", sa.String(512), nullable=False),
        sa.Column("method", sa.String(256), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["consent_record.id"]),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index("ix_consent_event_record_id", "consent_event", ["record_id"])
    op.create_table(
        "consent_receipt",
        sa.Column("id", sa.String(256), nullable=False),
        sa.Column("record_id", sa.String(256), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        _when("created_at"),
        sa.ForeignKeyConstraint(["record_id"], ["consent_record.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_consent_receipt_record_id", "consent_receipt", ["record_id"])
    op.create_table(
        "consent_portal",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        _when("created_at"),
        _when("revoked_at", nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("token_hash"),
    )


def downgrade() -> None:
    for table in (
        "consent_portal",
        "consent_receipt",
        "consent_event",
        "consent_grant",
        "consent_dataset",
        "consent_recipient",
        "consent_purpose",
        "consent_record",
        "personal_dataset",
    ):
        op.drop_table(table)
