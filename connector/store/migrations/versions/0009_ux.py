"""dataset lifecycle: retirement

Revision ID: 0004_ux
Revises: 0004_consent
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_ux"
down_revision = "0004_consent"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dataset_retirement",
        sa.Column("dataset_id", sa.String(length=512), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=1024), nullable=False),
        sa.ForeignKeyConstraint(["dataset_id"], ["dataset.id"]),
        sa.PrimaryKeyConstraint("dataset_id"),
    )


def downgrade() -> None:
    op.drop_table("dataset_retirement")
