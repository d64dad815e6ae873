"""The sealer, on either database: entries numbered after the business commit, still one per
event, gap-free, the same bytes an append in the transaction would write, and caught up after
a crash between the two."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from connector.audit.entries import Entry
from connector.audit.merkle import MemoryTree, leaf_hash
from connector.store.audit_log import AuditQueries, _numbered, entry_for, pending_body
from connector.store.database import build_engine
from connector.store.store import Store
from connector.store.tables import EventRow
from tests.audit.test_audit_store import T0, all_entries, an_event, write_events


@pytest.fixture
def deferred(migrated_database_url: str) -> Iterator[Store]:
    """A store whose pending entries are sealed only when a test says so (no batch falls due,
    no sealer thread runs meanwhile)."""
    s = Store(build_engine(migrated_database_url))
    s.seal_delay = 3600.0
    yield s
    s.dispose()


def pending_count(store: Store) -> int:
    with store.engine.connect() as c:
        return int(c.execute(text("SELECT count(*) FROM audit_pending")).scalar_one())


@pytest.mark.parametrize("seq", [0, 1, 9, 10, 12345, 2**40])
def test_a_numbered_body_is_the_canonical_entry_even_with_look_alike_details(seq: int) -> None:
    details = {"seq": 0, "subject": "x", "nested": {"seq": 0, "subject": ',"seq":0,"subject":'}}
    entry = Entry(0, T0, "audit.finding", 'a,"seq":0,"subject":b', "did:web:p", details)
    numbered = _numbered(pending_body(entry).encode())(seq)
    assert numbered == Entry(seq, T0, entry.kind, entry.subject, entry.peer, details).canonical()


def test_a_pending_body_must_be_made_with_sequence_number_zero() -> None:
    with pytest.raises(ValueError):
        pending_body(Entry(3, T0, "audit.read", "s", ""))


def test_sealed_entries_are_the_canonical_entries_of_their_events(deferred: Store) -> None:
    write_events(deferred, 5)
    assert pending_count(deferred) == 5  # committed with the events, numbered later
    entries = all_entries(deferred)
    assert [s for s, _, _ in entries] == list(range(5))
    assert pending_count(deferred) == 0
    with deferred.engine.connect() as c:
        events = [int(r[0]) for r in c.execute(text("SELECT seq FROM event ORDER BY seq"))]
    assert [e for _, e, _ in entries] == events
    with Session(deferred.engine) as session:
        rows = {r.seq: r for r in session.exec(select(EventRow))}
    for seq, event_seq, body in entries:  # the same bytes an append in the transaction writes
        assert entry_for(rows[event_seq])(seq).canonical() == body.encode()
        assert Entry.from_bytes(body.encode()).canonical() == body.encode()
    tree = MemoryTree(leaf_hash(b.encode()) for _, _, b in entries)
    assert AuditQueries(deferred).root(5) == tree.root()


def test_a_crash_between_commit_and_seal_is_caught_up_by_the_next_sealer(
    deferred: Store,
) -> None:
    write_events(deferred, 3, prefix="lost")  # ... and the process dies before sealing
    assert pending_count(deferred) == 3
    restarted = Store(deferred.engine)  # what the connector runs at start
    assert restarted.seal_pending() == 3
    write_events(deferred, 2, prefix="after")
    entries = all_entries(deferred)
    assert [s for s, _, _ in entries] == list(range(5)) and pending_count(deferred) == 0
    subjects = [Entry.from_bytes(b.encode()).subject for _, _, b in entries]
    assert subjects == ["lost-0", "lost-1", "lost-2", "after-0", "after-1"]


def test_a_rolled_back_transaction_leaves_nothing_pending(deferred: Store) -> None:
    with pytest.raises(RuntimeError), deferred.transaction() as tx:
        tx.add(an_event("gone"))
        tx.session.flush()
        raise RuntimeError("abort")
    assert pending_count(deferred) == 0 and all_entries(deferred) == []


def test_sealing_in_batches_keeps_the_order(deferred: Store) -> None:
    write_events(deferred, 7)
    assert deferred.seal_pending(batch=3) == 7
    entries = all_entries(deferred)
    assert [s for s, _, _ in entries] == list(range(7))
    assert [e for _, e, _ in entries] == sorted(e for _, e, _ in entries)
    assert deferred.seal_pending() == 0
