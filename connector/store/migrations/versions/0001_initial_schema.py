"""initial schema

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "dataset",
        sa.Column("id", sa.String(length=512), nullable=False),
        sa.Column("title", sa.String(length=512), nullable=False),
        sa.Column("description", sa.String(length=4096), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("themes", sa.JSON(), nullable=False),
        sa.Column("data_address", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "event",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("process", sa.String(length=16), nullable=False),
        sa.Column("process_id", sa.String(length=256), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("message", sa.String(length=64), nullable=False),
        sa.Column("from_state", sa.String(length=32), nullable=True),
        sa.Column("to_state", sa.String(length=32), nullable=False),
        sa.Column("peer_did", sa.String(length=512), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_process_id"), ["process_id"], unique=False)

    op.create_table(
        "negotiation",
        sa.Column("id", sa.String(length=256), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("peer_pid", sa.String(length=256), nullable=True),
        sa.Column("counterparty_did", sa.String(length=512), nullable=False),
        sa.Column("counterparty_address", sa.String(length=2048), nullable=False),
        sa.Column("dataset_id", sa.String(length=512), nullable=False),
        sa.Column("offer", sa.JSON(), nullable=False),
        sa.Column("offer_by", sa.String(length=16), nullable=False),
        sa.Column("agreement_id", sa.String(length=256), nullable=True),
        sa.Column("awaiting_decision", sa.Boolean(), nullable=False),
        sa.Column("pending", sa.String(length=32), nullable=True),
        sa.Column("pending_detail", sa.JSON(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=128), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=2048), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("role", "counterparty_did", "peer_pid", name="uq_negotiation_peer_pid"),
    )
    with op.batch_alter_table("negotiation", schema=None) as batch_op:
        batch_op.create_index("ix_negotiation_due", ["next_attempt_at"], unique=False)

    op.create_table(
        "seen_token",
        sa.Column("issuer", sa.String(length=512), nullable=False),
        sa.Column("jti", sa.String(length=256), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("issuer", "jti"),
    )
    with op.batch_alter_table("seen_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_seen_token_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "transfer",
        sa.Column("id", sa.String(length=256), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("peer_pid", sa.String(length=256), nullable=True),
        sa.Column("counterparty_did", sa.String(length=512), nullable=False),
        sa.Column("counterparty_address", sa.String(length=2048), nullable=False),
        sa.Column("agreement_id", sa.String(length=256), nullable=False),
        sa.Column("format", sa.String(length=128), nullable=False),
        sa.Column("data_address", sa.JSON(), nullable=True),
        sa.Column("pending", sa.String(length=32), nullable=True),
        sa.Column("pending_detail", sa.JSON(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=128), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=2048), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("role", "counterparty_did", "peer_pid", name="uq_transfer_peer_pid"),
    )
    with op.batch_alter_table("transfer", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_transfer_agreement_id"), ["agreement_id"], unique=False
        )
        batch_op.create_index("ix_transfer_due", ["next_attempt_at"], unique=False)

    op.create_table(
        "agreement",
        sa.Column("id", sa.String(length=256), nullable=False),
        sa.Column("negotiation_id", sa.String(length=256), nullable=False),
        sa.Column("dataset_id", sa.String(length=512), nullable=False),
        sa.Column("provider_did", sa.String(length=512), nullable=False),
        sa.Column("consumer_did", sa.String(length=512), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["negotiation_id"],
            ["negotiation.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("agreement", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agreement_negotiation_id"), ["negotiation_id"], unique=False
        )

    op.create_table(
        "offer",
        sa.Column("id", sa.String(length=512), nullable=False),
        sa.Column("dataset_id", sa.String(length=512), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("requires_approval", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["dataset.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("offer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offer_dataset_id"), ["dataset_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("offer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offer_dataset_id"))

    op.drop_table("offer")
    with op.batch_alter_table("agreement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreement_negotiation_id"))

    op.drop_table("agreement")
    with op.batch_alter_table("transfer", schema=None) as batch_op:
        batch_op.drop_index("ix_transfer_due")
        batch_op.drop_index(batch_op.f("ix_transfer_agreement_id"))

    op.drop_table("transfer")
    with op.batch_alter_table("seen_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_seen_token_expires_at"))

    op.drop_table("seen_token")
    with op.batch_alter_table("negotiation", schema=None) as batch_op:
        batch_op.drop_index("ix_negotiation_due")

    op.drop_table("negotiation")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_process_id"))

    op.drop_table("event")
    op.drop_table("dataset")
