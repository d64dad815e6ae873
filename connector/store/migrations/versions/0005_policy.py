"""policy enforcement: the facts a transfer's accesses are decided on, duties owed, agreement
signatures

Revision ID: 0004_policy
Revises: 0004_holds
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_policy"
down_revision = "0004_holds"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy_context",
        sa.Column("transfer_id", sa.String(length=256), nullable=False),
        sa.Column("agreement_id", sa.String(length=256), nullable=False),
        sa.Column("requester", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.String(length=2048), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("transfer_id"),
    )
    op.create_index("ix_policy_context_agreement_id", "policy_context", ["agreement_id"])
    op.create_table(
        "policy_duty",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("agreement_id", sa.String(length=256), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=256), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fulfilled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_policy_duty_agreement_id", "policy_duty", ["agreement_id"])
    op.create_table(
        "agreement_signature",
        sa.Column("agreement_id", sa.String(length=256), nullable=False),
        sa.Column("signer_did", sa.String(length=512), nullable=False),
        sa.Column("jws", sa.String(length=8192), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("agreement_id", "signer_did"),
    )


def downgrade() -> None:
    op.drop_table("agreement_signature")
    op.drop_index("ix_policy_duty_agreement_id", table_name="policy_duty")
    op.drop_table("policy_duty")
    op.drop_index("ix_policy_context_agreement_id", table_name="policy_context")
    op.drop_table("policy_context")
