"""console: logged-out sessions, refused by every process of the participant

Revision ID: 0010_console
Revises: 0010_catalog
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_console"
down_revision = "0010_catalog"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_session_ended",
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sid"),
    )
    op.create_index("ix_console_session_ended_expires_at", "console_session_ended", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_console_session_ended_expires_at", table_name="console_session_ended")
    op.drop_table("console_session_ended")
