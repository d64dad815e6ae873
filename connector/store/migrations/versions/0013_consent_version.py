"""consent version: a number bumped with every change of consent grants

Revision ID: 0013_consent_version
Revises: 0010_console
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_consent_version"
down_revision = "0010_console"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "consent_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(table, [{"id": 1, "value": 0}])


def downgrade() -> None:
    op.drop_table("consent_version")
