"""audit log head: the last event sealed (SQLite's pending entries are the events after it)

Revision ID: 0014_sealed_event
Revises: 0013_consent_version
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_sealed_event"
down_revision = "0013_consent_version"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_head") as batch_op:
        batch_op.add_column(
            sa.Column("event_seq", sa.BigInteger(), nullable=False, server_default="0")
        )
    if op.get_bind().dialect.name == "sqlite":
        # Events commit in sequence order there (one writer), so every event up to the last
        # one with an entry is sealed; the pending rows left are those after it, whose entries
        # the sealer now makes from the event rows (the same bytes: tests/audit/test_sealer.py).
        op.execute(
            "UPDATE audit_head SET event_seq = "
            "(SELECT coalesce(max(event_seq), 0) FROM audit_entry)"
        )
        op.execute("DELETE FROM audit_pending")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":  # the pending rows the older sealer reads
        op.execute(
            "INSERT INTO audit_pending (event_seq, body) SELECT seq, '' FROM event "
            "WHERE seq > (SELECT event_seq FROM audit_head)"
        )
    with op.batch_alter_table("audit_head") as batch_op:
        batch_op.drop_column("event_seq")
