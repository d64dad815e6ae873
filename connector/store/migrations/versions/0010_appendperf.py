"""audit log: events waiting for the sealer (PostgreSQL appends out of the business transaction)

Revision ID: 0010_appendperf
Revises: 0004_ux
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_appendperf"
down_revision = "0004_ux"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_pending",
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["event_seq"], ["event.seq"]),
        sa.PrimaryKeyConstraint("event_seq"),
    )


def downgrade() -> None:
    op.drop_table("audit_pending")
