"""What the readiness probe and the metrics read from the database (the SQL lives here)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, text
from sqlmodel import col, select

from connector.store.store import Store
from connector.store.tables import NegotiationRow, TransferRow

KINDS: dict[str, type[NegotiationRow] | type[TransferRow]] = {
    "negotiation": NegotiationRow,
    "transfer": TransferRow,
}


def ping(store: Store) -> None:
    """One round trip; StoreError if the database is not there."""
    with store.transaction() as tx:
        tx.session.execute(text("SELECT 1"))


def counts_by_state(store: Store) -> dict[tuple[str, str, str], int]:
    """(process kind, role, stored state) -> how many."""
    out: dict[tuple[str, str, str], int] = {}
    with store.transaction() as tx:
        for kind, row in KINDS.items():
            query = select(col(row.role), col(row.state), func.count()).group_by(
                col(row.role), col(row.state)
            )
            for role, state, count in tx.session.exec(query):
                out[(kind, role, state)] = int(count)
    return out


def oldest_due(store: Store, now: datetime) -> datetime | None:
    """The earliest time a message still owed to a peer fell due (None: nothing overdue)."""
    earliest: datetime | None = None
    with store.transaction() as tx:
        for row in KINDS.values():
            query = select(func.min(col(row.next_attempt_at))).where(
                col(row.pending).is_not(None), col(row.next_attempt_at) <= now
            )
            value = tx.session.exec(query).one()
            if value is not None and (earliest is None or value < earliest):
                earliest = value
    return earliest
