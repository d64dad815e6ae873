"""harvested index: a narrow (id, search_text) index for scans on SQLite

Words of one or two characters are not in the trigram index, so a search with one reads
candidates in id order; through this covering index it reads their text, not their whole row
with its document (about ten times the bytes). PostgreSQL has its pg_trgm index and no need.

Revision ID: 0010_catalog
Revises: 0010_appendperf
"""

from __future__ import annotations

from alembic import op

revision = "0010_catalog"
down_revision = "0010_appendperf"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE INDEX IF NOT EXISTS ix_harvested_dataset_text "
            "ON harvested_dataset (id, search_text)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP INDEX IF EXISTS ix_harvested_dataset_text")
