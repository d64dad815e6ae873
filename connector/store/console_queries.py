"""Logged-out console sessions, shared by every process on one database."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, delete, select

from connector.store.console_tables import ConsoleSessionEndedRow
from connector.store.store import Transaction


def end_session(tx: Transaction, sid: str, expires_at: datetime, now: datetime) -> None:
    """Remember a logout (and forget the logouts whose cookies have expired since)."""
    tx.session.exec(
        delete(ConsoleSessionEndedRow).where(col(ConsoleSessionEndedRow.expires_at) <= now)
    )
    if tx.session.get(ConsoleSessionEndedRow, sid) is None:
        tx.session.add(ConsoleSessionEndedRow(sid=sid, expires_at=expires_at))


def session_ended(tx: Transaction, sid: str) -> bool:
    found = tx.session.exec(
        select(ConsoleSessionEndedRow.sid).where(ConsoleSessionEndedRow.sid == sid)
    ).first()
    return found is not None
