"""SQLite's way of sealing: a transaction commits only its event (pending until the head's last
sealed event passes it), and the entries are numbered in batches a few ms later (by the next transaction
once the batch is due, else by the store's sealer thread), before any read that must see
them, at shutdown, and at the next start after a crash."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from connector.audit.entries import Entry
from connector.store.audit_log import AuditQueries
from connector.store.database import build_engine
from connector.store.store import Store
from tests.audit.test_audit_store import a_transfer_with_events, an_event, write_events
from tests.audit.test_sealer import pending_count

HOUR = 3600.0  # a seal delay no test waits for: nothing is sealed unless the test makes it


@pytest.fixture
def url(tmp_path: Path, migrated_sqlite: Path) -> str:
    copy = tmp_path / "batched.db"
    shutil.copyfile(migrated_sqlite, copy)
    return f"sqlite:///{copy}"


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    s = Store(build_engine(url))
    assert s.seal_later
    yield s
    s.dispose()


def stored(store: Store) -> list[tuple[int, int, str]]:
    """The entry rows as they are, without sealing anything first."""
    with store.engine.connect() as c:
        rows = c.execute(text("SELECT seq, event_seq, body FROM audit_entry ORDER BY seq"))
        return [(int(r[0]), int(r[1]), r[2]) for r in rows]


def events(store: Store) -> list[int]:
    with store.engine.connect() as c:
        return [int(r[0]) for r in c.execute(text("SELECT seq FROM event ORDER BY seq"))]


def test_a_transaction_commits_its_event_pending_and_a_due_batch_is_sealed_by_the_next(
    store: Store,
) -> None:
    store.seal_delay = HOUR
    write_events(store, 2)
    assert stored(store) == [] and pending_count(store) == 2  # committed with the events
    store.seal_delay = 0.0
    write_events(store, 1, prefix="q")  # the batch is due: this transaction seals all three
    entries = stored(store)
    assert [s for s, _, _ in entries] == [0, 1, 2] and pending_count(store) == 0
    assert [e for _, e, _ in entries] == events(store)
    for seq, _, body in entries:
        assert Entry.from_bytes(body.encode()).seq == seq
        assert Entry.from_bytes(body.encode()).canonical() == body.encode()


def test_the_sealer_thread_seals_when_no_transaction_comes(store: Store) -> None:
    store.seal_delay = 0.002
    write_events(store, 1)
    deadline = time.monotonic() + 5.0
    while pending_count(store) and time.monotonic() < deadline:
        time.sleep(0.002)
    assert pending_count(store) == 0
    assert [e for _, e, _ in stored(store)] == events(store)


def test_reads_see_every_committed_event_even_before_the_batch_is_due(store: Store) -> None:
    store.seal_delay = HOUR
    write_events(store, 3)
    assert stored(store) == []
    audit = AuditQueries(store)
    assert audit.size() == 3  # sealed first
    assert [e.seq for e in audit.entries(0, 10)] == [0, 1, 2]
    write_events(store, 1, prefix="late")
    size, page = audit.page(0, 10)
    assert size == 4 and len(page) == 4
    assert len(audit.inclusion_proof(3, 4)) == 2


def test_a_rolled_back_transaction_keeps_the_earlier_pending_rows(store: Store) -> None:
    store.seal_delay = HOUR
    write_events(store, 1)
    store.seal_delay = 0.0  # due: the next transaction seals, then fails
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.add(an_event("gone"))
        tx.session.flush()
        raise RuntimeError("abort")
    assert stored(store) == [] and pending_count(store) == 1
    store.seal_delay = HOUR
    assert AuditQueries(store).size() == 1  # still known to be pending: sealed on the read


def test_shutdown_seals_and_a_crash_leaves_it_to_the_next_start(url: str) -> None:
    first = Store(build_engine(url))
    first.seal_delay = HOUR
    write_events(first, 2)
    first.dispose()  # a clean stop: nothing left pending
    crashed = Store(build_engine(url))
    crashed.seal_delay = HOUR
    write_events(crashed, 3, prefix="lost")  # ... and the process dies before sealing
    assert pending_count(crashed) == 3
    crashed._closed = True  # gone without its shutdown's seal
    crashed.engine.dispose()
    restarted = Store(build_engine(url))
    assert [s for s, _, _ in stored(restarted)] == [0, 1]
    assert restarted.seal_pending() == 3  # what the connector runs at start
    assert [s for s, _, _ in stored(restarted)] == list(range(5))
    assert pending_count(restarted) == 0
    restarted.dispose()


def test_a_sealed_batch_owes_the_receipts_of_its_exchanges(store: Store) -> None:
    store.seal_delay = HOUR
    a_transfer_with_events(
        store,
        [
            ("REQUESTED", "STARTED", "TransferStartMessage"),
            ("STARTED", "COMPLETED", "TransferCompletionMessage"),
        ],
    )
    with store.engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM audit_outbox")).scalar_one() == 0
    woken: list[int] = []
    store.receipts_owed = lambda: woken.append(1)
    assert store.seal_pending() == 3  # the transfer's record, then its two transitions
    with store.engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT e.to_state, o.peer_did, o.address, o.state, o.created_at, e.at"
                " FROM audit_outbox o JOIN audit_entry a ON a.seq = o.entry_seq"
                " JOIN event e ON e.seq = a.event_seq ORDER BY o.entry_seq"
            )
        ).all()
    assert [tuple(r[:4]) for r in rows] == [
        ("STARTED", "did:web:peer", "https://peer.example/dsp", "pending"),
        ("COMPLETED", "did:web:peer", "https://peer.example/dsp", "pending"),
    ]
    assert all(r[4] == r[5] for r in rows)  # the times are the events' own
    assert woken == [1]
