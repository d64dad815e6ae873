"""Engine construction: SQLite (WAL, immediate write transactions) or PostgreSQL by URL."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine, make_url
from sqlmodel import create_engine

MMAP_BYTES = 1 << 30  # address space, not memory: the OS pages it in as it is read
# A pooled PostgreSQL connection is pinged before use only when it sat idle this long: a
# connection handed straight back and forth under load was just working, and a ping on every
# checkout was one more round trip for every transaction (a third of a replay-cache commit).
IDLE_PING_SECONDS = 2.0


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def normalise_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and pick the psycopg 3 driver we install."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def build_engine(url: str, *, idle_ping_seconds: float = IDLE_PING_SECONDS) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    # LIFO: the connections in use stay warm (no ping), the spare ones idle and get pinged.
    engine = create_engine(url, pool_size=10, max_overflow=10, pool_use_lifo=True)
    _ping_when_idle(engine, idle_ping_seconds)
    return engine


def _ping_when_idle(engine: Engine, seconds: float) -> None:
    """Pessimistic disconnect handling for connections idle longer than `seconds`: one that
    fails its ping (the server restarted, a firewall dropped it) is replaced, with every
    pooled connection older than it, before any work goes to it."""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.pop("returned_at", None)
        if returned is None or time.monotonic() - returned < seconds:
            return  # new (just connected), or back from work a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.InvalidatePoolError(f"idle connection failed its ping: {error}") from error


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the sqlite3 module so that every write transaction can
        # start with BEGIN IMMEDIATE (no late lock upgrade, no "database is locked" mid-way).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        mode = cursor.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() not in ("wal", "memory"):
            raise RuntimeError(f"SQLite refused WAL mode (got {mode!r})")
        # NORMAL in WAL mode: a crash of the process never loses a commit; only power loss may
        # lose the last few. The benchmark in the issue measured 3x the commit rate of FULL.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Reads through a memory map: a proof's nodes lie all over a large log, and each page
        # the connection's small cache misses would be a read() call (benchmarks/audit.py).
        cursor.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Straight to the driver: every transaction starts here, and going through
        # SQLAlchemy's statement execution costs more than the BEGIN itself.
        conn.connection.dbapi_connection.execute("BEGIN IMMEDIATE")

    return engine
