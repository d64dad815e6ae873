"""A hook on commits that append to the audit log, for the crash suite's kill points
(`connector/control/crash_points.py`); nothing installs it outside that suite."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

_APPENDING = "tsunagu: appending to the audit log"  # per connection, until commit or rollback


def before_audit_commit(engine: Engine, callback: Callable[[], None]) -> None:
    """Call `callback` when a transaction that wrote audit entries is about to commit (the
    entries are written, nothing is committed yet)."""

    @event.listens_for(engine, "before_cursor_execute")
    def _watch(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        # anywhere: PostgreSQL writes the entries in a WITH clause (audit_log._WRITE_PG_SQL)
        if "INSERT INTO AUDIT_ENTRY" in statement.upper():
            conn.info[_APPENDING] = True

    @event.listens_for(engine, "commit")
    def _commit(conn: Any) -> None:
        if conn.info.pop(_APPENDING, False):
            callback()

    @event.listens_for(engine, "rollback")
    def _rollback(conn: Any) -> None:
        conn.info.pop(_APPENDING, None)
