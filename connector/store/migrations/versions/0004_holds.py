"""operator holds: waiting steps, per-process rules, per-offer steps

Revision ID: 0004_holds
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_holds"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hold",
        sa.Column("process_id", sa.String(length=256), nullable=False),
        sa.Column("process", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("waiting_for", sa.String(length=32), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("process_id"),
    )
    op.create_index("ix_hold_process", "hold", ["process"])
    op.create_table(
        "process_rules",
        sa.Column("process_id", sa.String(length=256), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("process_id"),
    )
    op.create_table(
        "offer_steps",
        sa.Column("offer_id", sa.String(length=512), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("offer_id"),
    )


def downgrade() -> None:
    op.drop_table("offer_steps")
    op.drop_table("process_rules")
    op.drop_index("ix_hold_process", table_name="hold")
    op.drop_table("hold")
