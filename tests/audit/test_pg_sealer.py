"""PostgreSQL: a business transaction never takes the log's head lock (it writes its pending
rows in its events' own INSERT), and the sealers of several processes, racing for that lock
in transactions of their own, make one gap-free sequence that verifies."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import event, text

from connector.audit.entries import Entry
from connector.audit.merkle import MemoryTree, leaf_hash
from connector.store.audit_log import AuditQueries
from connector.store.database import build_engine
from connector.store.migrate import upgrade
from connector.store.store import Store
from tests.audit.test_audit_store import (
    a_transfer_with_events,
    all_entries,
    an_event,
    write_events,
)
from tests.audit.test_sealer import pending_count

HOUR = 3600.0


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Store]:
    engine = build_engine(postgres_url)
    upgrade(engine)
    store = Store(engine)
    store.seal_delay = HOUR  # sealed when the test says so
    yield store
    store.dispose()


def _held_head(store: Store) -> Iterator[None]:
    """Hold the log's head lock from another connection, as another process's sealer does."""
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


def test_a_transition_writes_its_pending_row_in_its_events_insert(pg: Store) -> None:
    statements: list[str] = []

    def count(_conn: object, _cursor: object, sql: str, *_: object) -> None:
        statements.append(sql)

    event.listen(pg.engine, "before_cursor_execute", count)
    try:
        write_events(pg, 1)
    finally:
        event.remove(pg.engine, "before_cursor_execute", count)
    audit = [s for s in statements if "audit_" in s]
    assert len(audit) == 1 and "INSERT INTO event" in audit[0], statements
    assert "audit_head" not in audit[0]
    assert pending_count(pg) == 1 and all_entries(pg)[0][0] == 0


def test_events_the_orm_flushed_get_their_pending_rows_too(pg: Store) -> None:
    with pg.transaction() as tx:
        tx.add(an_event("flushed", 1))
        tx.session.flush()  # written by the ORM, before the seal's own INSERT of new rows
        tx.add(an_event("late", 2))
    assert pending_count(pg) == 2
    assert _check_log(pg) == ["flushed", "late"]


def test_a_held_head_never_holds_up_a_business_commit(pg: Store) -> None:
    write_events(pg, 2, prefix="before")
    holder = _held_head(pg)
    next(holder)
    try:
        started = time.monotonic()
        write_events(pg, 3, prefix="held")  # returns: nothing waits for the lock
        assert time.monotonic() - started < 10.0
        assert pending_count(pg) == 5
    finally:
        holder.close()
    assert _check_log(pg) == ["before-0", "before-1", "held-0", "held-1", "held-2"]


def test_the_sealer_thread_seals_a_batch_after_the_delay(pg: Store) -> None:
    pg.seal_delay = 0.01
    write_events(pg, 4)
    deadline = time.monotonic() + 10.0
    while pending_count(pg) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert pending_count(pg) == 0
    assert _check_log(pg) == [f"p-{i}" for i in range(4)]


def test_processes_sealing_at_once_make_one_sequence(postgres_url: str) -> None:
    engine = build_engine(postgres_url)
    upgrade(engine)
    engine.dispose()
    stores = [Store(build_engine(postgres_url)) for _ in range(4)]  # one engine each: processes
    for s in stores:
        s.seal_delay = 0.002  # every process's sealer races for the head
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
    next(holder)  # the first sealers of every process wait for the lock meanwhile
    start.wait()
    try:
        for _ in range(600):
            if pending_count(stores[0]) >= len(stores) or errors:
                break
            threading.Event().wait(0.05)
    finally:
        holder.close()
    for t in threads:
        t.join()
    assert not errors, errors
    for s in stores:
        s.caught_up()
    subjects = _check_log(stores[0])
    assert sorted(subjects) == sorted(f"w{k}-{i}" for k in range(4) for i in range(20))
    for s in stores:
        s.dispose()


def test_a_sealed_batch_queues_its_receipts_with_the_peers_address(pg: Store) -> None:
    start = "TransferStartMessage"
    a_transfer_with_events(
        pg,
        [
            ("REQUESTED", "STARTED", start),
            ("STARTED", "STARTED", start),
            ("STARTED", "COMPLETED", start),
        ],
    )
    woken: list[int] = []
    pg.receipts_owed = lambda: woken.append(1)
    assert pg.seal_pending() == 4  # the transfer's record, then its three transitions
    with pg.engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT e.to_state, o.peer_did, o.address, o.state, o.created_at = e.at"
                " FROM audit_outbox o JOIN audit_entry a ON a.seq = o.entry_seq"
                " JOIN event e ON e.seq = a.event_seq ORDER BY o.entry_seq"
            )
        ).all()
    # a start and an end owe receipts; a repeated start does not
    assert [tuple(r) for r in rows] == [
        ("STARTED", "did:web:peer", "https://peer.example/dsp", "pending", True),
        ("COMPLETED", "did:web:peer", "https://peer.example/dsp", "pending", True),
    ]
    assert woken == [1]
