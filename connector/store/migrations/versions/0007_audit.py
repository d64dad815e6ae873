"""audit receipts and witnessing: receipts owed to peers, receipts peers gave us, the
checkpoints we cosigned as a witness and the cosignatures peers made of ours

Revision ID: 0004_audit
Revises: 0004_catalog
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_audit"
down_revision = "0004_catalog"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_outbox",
        sa.Column("entry_seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("peer_did", sa.String(length=512), nullable=False),
        sa.Column("address", sa.String(length=2048), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=2048), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("entry_seq"),
    )
    op.create_index("ix_audit_outbox_next_attempt_at", "audit_outbox", ["next_attempt_at"])
    op.create_table(
        "audit_receipt",
        sa.Column("origin", sa.String(length=600), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("leaf", sa.LargeBinary(length=32), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("origin", "seq"),
    )
    op.create_table(
        "audit_witness",
        sa.Column("origin", sa.String(length=600), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("origin"),
    )
    op.create_table(
        "audit_cosignature",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("witness", sa.String(length=512), nullable=False),
        sa.Column("line", sa.String(length=1024), nullable=False),
        sa.Column("cosigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("size", "witness"),
    )


def downgrade() -> None:
    op.drop_table("audit_cosignature")
    op.drop_table("audit_witness")
    op.drop_table("audit_receipt")
    op.drop_index("ix_audit_outbox_next_attempt_at", table_name="audit_outbox")
    op.drop_table("audit_outbox")
