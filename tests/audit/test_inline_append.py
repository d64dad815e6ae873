"""PostgreSQL: a business transaction appends its entries itself when the log's head lock is
free, and leaves them to the sealer when another transaction holds it; both ways make one
gap-free sequence that verifies."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from connector.audit.entries import Entry
from connector.audit.merkle import MemoryTree, leaf_hash
from connector.store import store as store_module
from connector.store.audit_log import AuditQueries, append_if_free
from connector.store.database import build_engine
from connector.store.migrate import upgrade
from connector.store.store import Store
from tests.audit.test_audit_store import all_entries, an_event, write_events
from tests.audit.test_sealer import pending_count


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Store]:
    engine = build_engine(postgres_url)
    upgrade(engine)
    store = Store(engine)
    assert store.defer_seal
    yield store
    store.dispose()


def _held_head(store: Store) -> Iterator[None]:
    """Hold the log's head lock from another connection, as a sealer or appender does."""
    with store.engine.connect() as other, other.begin():
        other.execute(text("SELECT size FROM audit_head WHERE id = 1 FOR UPDATE"))
        yield


def _check_log(store: Store) -> list[str]:
    entries = all_entries(store)
    assert [s for s, _, _ in entries] == list(range(len(entries)))  # gap-free
    with store.engine.connect() as c:
        events = {int(r[0]) for r in c.execute(text("SELECT seq FROM event"))}
    assert sorted(e for _, e, _ in entries) == sorted(events)  # one entry per event
    assert pending_count(store) == 0
    for seq, _, body in entries:
        assert Entry.from_bytes(body.encode()).seq == seq
        assert Entry.from_bytes(body.encode()).canonical() == body.encode()
    tree = MemoryTree(leaf_hash(b.encode()) for _, _, b in entries)
    assert AuditQueries(store).size() == len(entries)
    assert AuditQueries(store).root(len(entries)) == tree.root()
    return [Entry.from_bytes(b.encode()).subject for _, _, b in entries]


def test_a_free_head_is_appended_to_in_the_business_transaction(pg: Store) -> None:
    pg._seal_after_commit = lambda: None  # type: ignore[method-assign]  # no sealer at all
    write_events(pg, 3)
    assert pending_count(pg) == 0
    assert _check_log(pg) == ["p-0", "p-1", "p-2"]


def test_a_held_head_leaves_the_entries_to_the_sealer(pg: Store) -> None:
    sealing = pg._seal_after_commit
    pg._seal_after_commit = lambda: None  # type: ignore[method-assign]
    write_events(pg, 2, prefix="inline")
    holder = _held_head(pg)
    next(holder)
    try:
        write_events(pg, 3, prefix="held")  # returns: nothing waits for the lock
        assert pending_count(pg) == 3 and len(all_entries(pg)) == 2
    finally:
        holder.close()
    # The head is free again: the next transaction appends its own entry, sees the pending
    # ones and seals them right after its commit.
    pg._seal_after_commit = sealing  # type: ignore[method-assign]
    write_events(pg, 1, prefix="after")
    assert _check_log(pg) == ["inline-0", "inline-1", "after-0", "held-0", "held-1", "held-2"]


def test_a_rolled_back_inline_append_takes_its_numbers_with_it(pg: Store) -> None:
    write_events(pg, 2, prefix="a")
    with pytest.raises(RuntimeError), pg.transaction() as tx:
        tx.add(an_event("gone"))
        tx.seal()  # the entry is written, under the head lock ...
        raise RuntimeError("abort")  # ... and rolled back with the event
    write_events(pg, 2, prefix="b")
    assert _check_log(pg) == ["a-0", "a-1", "b-0", "b-1"]


def test_processes_appending_inline_and_through_the_sealer_make_one_sequence(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ways: list[bool] = []  # per transaction: appended inline?

    def noting(*args: Any) -> tuple[int, bool] | None:
        done = append_if_free(*args)
        ways.append(done is not None)
        return done

    monkeypatch.setattr(store_module, "append_if_free", noting)
    engine = build_engine(postgres_url)
    upgrade(engine)
    engine.dispose()
    stores = [Store(build_engine(postgres_url)) for _ in range(4)]  # one engine each: processes
    errors: list[BaseException] = []
    start = threading.Barrier(len(stores) + 1)

    def work(k: int) -> None:
        try:
            start.wait()
            write_events(stores[k], 20, prefix=f"w{k}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(stores))]
    for t in threads:
        t.start()
    holder = _held_head(stores[0])
    next(holder)  # the first transaction of every process finds the head taken ...
    start.wait()
    try:
        for _ in range(600):  # ... commits its pending row, and its sealer waits for the lock
            if pending_count(stores[0]) >= len(stores) or errors:
                break
            threading.Event().wait(0.05)
    finally:
        holder.close()
    for t in threads:
        t.join()
    assert not errors, errors
    assert ways.count(False) >= len(stores) and ways.count(True) >= 1, ways
    subjects = _check_log(stores[0])
    assert sorted(subjects) == sorted(f"w{k}-{i}" for k in range(4) for i in range(20))
    for s in stores:
        s.dispose()
