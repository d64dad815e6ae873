"""data plane: token grants, agreement usage, consumer credentials, push jobs and sinks

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_grant",
        sa.Column("transfer_id", sa.String(length=256), nullable=False),
        sa.Column("consumer_did", sa.String(length=512), nullable=False),
        sa.Column("refresh_current", sa.String(length=64), nullable=True),
        sa.Column("refresh_previous", sa.String(length=64), nullable=True),
        sa.Column("access_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("transfer_id"),
    )
    op.create_table(
        "agreement_usage",
        sa.Column("agreement_id", sa.String(length=256), nullable=False),
        sa.Column("accesses", sa.Integer(), nullable=False),
        sa.Column("last_access_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.String(length=1024), nullable=True),
        sa.PrimaryKeyConstraint("agreement_id"),
    )
    op.create_table(
        "data_credential",
        sa.Column("transfer_id", sa.String(length=256), nullable=False),
        sa.Column("endpoint", sa.String(length=2048), nullable=False),
        sa.Column("access_token", sa.String(length=16384), nullable=False),
        sa.Column("refresh_token", sa.String(length=512), nullable=True),
        sa.Column("refresh_endpoint", sa.String(length=2048), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("origin", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("transfer_id"),
    )
    op.create_table(
        "push_job",
        sa.Column("transfer_id", sa.String(length=256), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("bytes_sent", sa.BigInteger(), nullable=False),
        sa.Column("last_error", sa.String(length=2048), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("transfer_id"),
    )
    with op.batch_alter_table("push_job", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_push_job_next_attempt_at"), ["next_attempt_at"], unique=False
        )
    op.create_table(
        "push_sink",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("transfer_id", sa.String(length=256), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=256), nullable=True),
        sa.Column("received_bytes", sa.BigInteger(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("push_sink", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_push_sink_transfer_id"), ["transfer_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("push_sink", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_push_sink_transfer_id"))
    op.drop_table("push_sink")
    with op.batch_alter_table("push_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_push_job_next_attempt_at"))
    op.drop_table("push_job")
    op.drop_table("data_credential")
    op.drop_table("agreement_usage")
    op.drop_table("data_grant")
