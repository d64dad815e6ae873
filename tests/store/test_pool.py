"""PostgreSQL's pool: a connection that sat idle is checked before it gets work, so one the
server dropped meanwhile (a restart, a firewall) costs the caller nothing; a connection that
was just working is not pinged (that ping was one round trip more for every transaction)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from connector.store.database import build_engine, normalise_url


def _drop_connection_behind_the_pool(url: str, idle_ping_seconds: float) -> Engine:
    engine = build_engine(url, idle_ping_seconds=idle_ping_seconds)
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    admin = create_engine(normalise_url(url))
    with admin.begin() as conn:  # what a server restart does to this one connection
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()
    return engine


def test_an_idle_connection_the_server_dropped_is_replaced_before_use(postgres_url: str) -> None:
    engine = _drop_connection_behind_the_pool(postgres_url, idle_ping_seconds=0.0)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()


def test_a_connection_back_from_work_a_moment_ago_is_not_pinged(postgres_url: str) -> None:
    # The other side of the trade: within the idle threshold a dropped connection is found
    # by the work itself (and the pool then replaces it and every older one).
    engine = _drop_connection_behind_the_pool(postgres_url, idle_ping_seconds=3600.0)
    try:
        with pytest.raises(OperationalError), engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()
