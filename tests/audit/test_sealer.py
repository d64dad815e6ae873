"""The sealer, on either database: entries numbered after the business commit, still one per
event, gap-free, the same bytes an append in the transaction would write, and caught up after
a crash between the two."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from connector.audit.entries import Entry
from connector.audit.merkle import Frontier, MemoryTree, leaf_hash
from connector.store.audit_log import ANY_PENDING_SQL, AuditQueries, _numbered, entry_for
from connector.store.database import build_engine
from connector.store.migrate import upgrade
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


_PENDING_COUNT = {
    "postgresql": "SELECT count(*) FROM audit_pending",
    # events commit in sequence order there: those after the last one sealed are pending
    "sqlite": "SELECT count(*) FROM event e WHERE e.seq > (SELECT event_seq FROM audit_head)"
    " AND NOT EXISTS (SELECT 1 FROM audit_entry a WHERE a.event_seq = e.seq)",
}


def pending_count(store: Store) -> int:
    with store.engine.connect() as c:
        return int(c.execute(text(_PENDING_COUNT[store.engine.dialect.name])).scalar_one())


def anything_pending(store: Store) -> bool:
    """What Store.caught_up asks before an audit read."""
    with store.engine.connect() as c:
        return c.execute(text(ANY_PENDING_SQL[store.engine.dialect.name])).first() is not None


@pytest.mark.parametrize("seq", [0, 1, 9, 10, 12345, 2**40])
def test_a_numbered_body_is_the_canonical_entry_even_with_look_alike_details(seq: int) -> None:
    details = {"seq": 0, "subject": "x", "nested": {"seq": 0, "subject": ',"seq":0,"subject":'}}
    entry = Entry(0, T0, "audit.finding", 'a,"seq":0,"subject":b', "did:web:p", details)
    numbered = _numbered(entry.canonical())(seq)  # a pending row's body of older versions
    assert numbered == Entry(seq, T0, entry.kind, entry.subject, entry.peer, details).canonical()


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


def test_a_sqlite_log_of_the_previous_version_carries_on_gap_free(tmp_path: Path) -> None:
    """A database the previous version wrote (migration 0013): entries, and events still
    pending with their pending rows (a crash before the seal). After the upgrade the head
    names the last event sealed, the pending rows are gone and their events are sealed from
    the event rows, into the bytes the old pending bodies held."""
    engine = build_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0013_consent_version")
    with engine.begin() as c:
        for seq in range(1, 6):
            c.execute(
                text(
                    "INSERT INTO event (seq, at, process, process_id, role, direction, message,"
                    " to_state, peer_did, detail) VALUES (:seq, :at, 'negotiation', :pid,"
                    " 'provider', 'inbound', 'REQUEST', 'REQUESTED', 'did:web:peer', '{}')"
                ),
                {"seq": seq, "at": T0.replace(tzinfo=None), "pid": f"old-{seq}"},
            )
    with Session(engine) as session:
        events = list(session.exec(select(EventRow).order_by(EventRow.seq)))  # type: ignore[arg-type]
        bodies = [entry_for(e)(0).canonical().decode() for e in events]
    frontier = Frontier()
    with engine.begin() as c:  # the first three sealed by the old version, as it wrote them
        for seq, event in enumerate(events[:3]):
            body = entry_for(event)(seq).canonical()
            c.execute(
                text("INSERT INTO audit_entry (seq, event_seq, body) VALUES (:s, :e, :b)"),
                {"s": seq, "e": event.seq, "b": body.decode()},
            )
            for level, idx, node in frontier.append(leaf_hash(body)):
                c.execute(
                    text("INSERT INTO audit_node (level, idx, hash) VALUES (:l, :i, :h)"),
                    {"l": level, "i": idx, "h": node},
                )
        c.execute(
            text("UPDATE audit_head SET size = 3, frontier = :f"),
            {"f": b"".join(frontier.hashes)},
        )
        c.execute(
            text("INSERT INTO audit_pending (event_seq, body) VALUES (4, :a), (5, :b)"),
            {"a": bodies[3], "b": bodies[4]},
        )
    upgrade(engine)
    with engine.connect() as c:
        assert c.execute(text("SELECT event_seq FROM audit_head")).scalar_one() == 3
        assert c.execute(text("SELECT count(*) FROM audit_pending")).scalar_one() == 0
    store = Store(engine)
    assert pending_count(store) == 2
    assert store.seal_pending() == 2
    entries = all_entries(store)
    assert [(s, e) for s, e, _ in entries] == [(i, i + 1) for i in range(5)]
    assert _numbered(bodies[3].encode())(3) == entries[3][2].encode()
    assert _numbered(bodies[4].encode())(4) == entries[4][2].encode()
    tree = MemoryTree(leaf_hash(b.encode()) for _, _, b in entries)
    assert AuditQueries(store).root(5) == tree.root()
    store.dispose()


def test_an_event_given_an_entry_by_hand_does_not_stop_the_sealer(deferred: Store) -> None:
    """A hand in the database that adds an event with an entry of its own (a forgery, the
    verifier's to find) leaves it out of what is pending: sealing it again would fail every
    seal after it (SQLite counts the events after the last one sealed as pending)."""
    write_events(deferred, 2)
    deferred.seal_pending()
    write_events(deferred, 1, prefix="forged")
    with deferred.engine.begin() as c:
        seq = c.execute(text("SELECT max(seq) FROM event")).scalar_one()
        c.execute(
            text("INSERT INTO audit_entry (seq, event_seq, body) VALUES (99, :e, '{}')"),
            {"e": seq},
        )
        c.execute(text("DELETE FROM audit_pending"))  # PostgreSQL: what the hand would do
    assert not anything_pending(deferred)  # the forged event is not pending
    write_events(deferred, 2, prefix="after")
    assert pending_count(deferred) == 2 and anything_pending(deferred)
    assert deferred.seal_pending() == 2
    assert not anything_pending(deferred)
    subjects = [Entry.from_bytes(b.encode()).subject for s, _, b in all_entries(deferred) if s < 99]
    assert subjects == ["p-0", "p-1", "after-0", "after-1"]
