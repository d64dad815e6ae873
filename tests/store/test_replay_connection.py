"""SQLite's replay cache keeps one pooled connection for its inserts (a checkout and return per
token cost as much as the insert): taken at the first token, given back after a failure and
at dispose, so the pool ends with every connection home."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from connector.errors import StoreError
from connector.store.database import build_engine
from connector.store.store import Store

T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path, migrated_sqlite: Path) -> Iterator[Store]:
    copy = tmp_path / "test.db"
    shutil.copyfile(migrated_sqlite, copy)
    s = Store(build_engine(f"sqlite:///{copy}"))
    yield s
    s.dispose()


def _checkouts(store: Store) -> list[int]:
    taken: list[int] = []

    def note(*_: Any) -> None:
        taken.append(1)

    event.listen(store.engine, "checkout", note)
    return taken


def test_tokens_are_remembered_on_one_connection_kept_between_them(store: Store) -> None:
    taken = _checkouts(store)
    for n in range(20):
        assert store.remember("did:a", f"j{n}", T0 + timedelta(minutes=5))
    assert not store.remember("did:a", "j3", T0 + timedelta(minutes=5))
    assert len(taken) == 1
    with store.transaction() as tx:  # transactions take theirs from the pool as before
        tx.session.connection()
    assert len(taken) == 2


def test_dispose_gives_the_connection_back(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    assert store.remember("did:a", "j1", T0 + timedelta(minutes=5))
    store.dispose(timeout=1.0)
    assert "still in use" not in caplog.text
    assert store.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    with pytest.raises(StoreError) as refused:
        store.remember("did:a", "j2", T0 + timedelta(minutes=5))
    assert refused.value.code == "store_closed"


def test_a_connection_that_failed_is_given_back_and_the_next_token_takes_a_fresh_one(
    store: Store,
) -> None:
    assert store.remember("did:a", "j1", T0 + timedelta(minutes=5))
    broken = store._replay_connection
    broken.dbapi_connection.execute("DROP TABLE seen_token")  # what a failure looks like here
    with pytest.raises(StoreError):
        store.remember("did:a", "j2", T0 + timedelta(minutes=5))
    assert store._replay_connection is None
    assert store.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
