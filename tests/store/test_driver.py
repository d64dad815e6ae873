"""Statements sent by store.driver.execute: straight to the DB-API cursor when nothing listens
to SQLAlchemy's cursor events, through SQLAlchemy's execution (which calls the listeners) when
something does; the same rows back and the same errors either way, and a connection the
driver reports lost is dropped from the pool as SQLAlchemy's execution would drop it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Connection

from connector.errors import Conflict, StoreError
from connector.store import driver
from connector.store.database import build_engine
from connector.store.new_rows import new_row
from connector.store.store import Store
from connector.store.tables import NegotiationRow

T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def sqlite_store(tmp_path: Path, migrated_sqlite: Path) -> Iterator[Store]:
    copy = tmp_path / "test.db"
    shutil.copyfile(migrated_sqlite, copy)
    s = Store(build_engine(f"sqlite:///{copy}"))
    yield s
    s.dispose()


def _negotiation(pid: str) -> NegotiationRow:
    return new_row(
        NegotiationRow,
        id=pid,
        role="provider",
        state="REQUESTED",
        peer_pid=f"c-{pid}",
        counterparty_did="did:web:peer",
        counterparty_address="http://peer/cb",
        dataset_id="ds",
        offer={"@id": "o", "permission": [{"action": "use"}]},
        offer_by="consumer",
        created_at=T0,
        updated_at=T0,
    )


def _found(store: Store, peer_pid: str) -> str | None:
    with store.transaction() as tx:
        row = tx.process_by_peer(
            NegotiationRow, role="provider", counterparty_did="did:web:peer", peer_pid=peer_pid
        )
        return None if row is None else row.id


def _no_sqlalchemy_execution(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(*_: Any, **__: Any) -> Any:
        raise AssertionError("went through SQLAlchemy's execution")

    monkeypatch.setattr(Connection, "exec_driver_sql", refused)


def test_unwatched_statements_go_straight_to_the_driver(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    with store.engine.connect():  # the first connection asks the server's version: SQLAlchemy's
        pass
    _no_sqlalchemy_execution(monkeypatch)
    mark = store.mark
    with store.transaction() as tx:  # the new row's INSERT (store.new_rows)
        tx.add(_negotiation("n-1"))
    assert _found(store, "c-n-1") == "n-1"  # the look-up by the peer's pid
    assert _found(store, "c-none") is None
    with store.transaction() as tx:
        connection = tx.session.connection()
        update = f"UPDATE negotiation SET state = {mark} WHERE id = {mark}"
        assert driver.execute(connection, update, ("X", "n-1")) == []
        select = f"SELECT id, state FROM negotiation WHERE id = {mark}"
        assert driver.execute(connection, select, ("n-1",)) == [("n-1", "X")]


def test_a_connection_lost_mid_statement_is_dropped_from_the_pool(store: Store) -> None:
    """PostgreSQL: the server ends the session (a restart, a failover) under a transaction;
    its statement fails as the store's error, the connection is invalidated rather than given
    back, and the next transaction gets a fresh one."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("a SQLite connection cannot be lost")
    with pytest.raises(StoreError) as lost, store.transaction() as tx:
        connection = tx.session.connection()
        pid = connection.connection.driver_connection.info.backend_pid
        with store.engine.connect() as other:
            other.exec_driver_sql(f"SELECT pg_terminate_backend({pid}, 5000)")
        try:
            driver.execute(connection, "SELECT 1", ())
        finally:
            invalidated = connection.invalidated  # at once, as SQLAlchemy's execution does
    assert lost.value.code == "store_unavailable"
    assert invalidated
    with store.transaction() as tx:  # a fresh connection, not the dead one from the pool
        tx.add(_negotiation("n-after"))
    assert _found(store, "c-n-after") == "n-after"


def test_a_listener_sees_every_statement_with_its_parameters(store: Store) -> None:
    seen: list[tuple[str, Any]] = []

    def note(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        seen.append((" ".join(statement.split()[:3]), params))

    event.listen(store.engine, "before_cursor_execute", note)
    try:
        with store.transaction() as tx:
            tx.add(_negotiation("n-2"))
        assert _found(store, "c-n-2") == "n-2"
    finally:
        event.remove(store.engine, "before_cursor_execute", note)
    inserted = [params for s, params in seen if s == "INSERT INTO negotiation"]
    assert len(inserted) == 1 and "n-2" in tuple(inserted[0])
    looked_up = [params for s, params in seen if s == "SELECT id FROM"]
    assert [tuple(p) for p in looked_up] == [("provider", "did:web:peer", "c-n-2")]


@pytest.mark.parametrize("watched", [False, True])
def test_a_clash_is_the_stores_conflict_either_way(store: Store, watched: bool) -> None:
    def note(*_: Any) -> None:
        pass

    if watched:
        event.listen(store.engine, "before_cursor_execute", note)
    try:
        with store.transaction() as tx:
            tx.add(_negotiation("n-3"))
        with pytest.raises(Conflict) as raised, store.transaction() as tx:
            tx.add(_negotiation("n-3"))  # the same key, in a session that does not know it
        assert raised.value.code == "duplicate"
    finally:
        if watched:
            event.remove(store.engine, "before_cursor_execute", note)
    assert _found(store, "c-n-3") == "n-3"  # the first row stays, the second is rolled back
