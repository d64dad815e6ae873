"""The audit log in the store, run on SQLite and on PostgreSQL (TSUNAGU_TEST_DATABASE_URL)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text

from connector.audit.entries import Entry
from connector.audit.merkle import MemoryTree, leaf_hash, verify_consistency, verify_inclusion
from connector.errors import Conflict
from connector.store.audit_log import AuditQueries
from connector.store.database import build_engine
from connector.store.migrate import upgrade
from connector.store.store import Store
from connector.store.tables import EventRow, NegotiationRow, TransferRow

T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(migrated_database_url: str) -> Iterator[Store]:
    engine = build_engine(migrated_database_url)
    s = Store(engine)
    yield s
    s.dispose()


def an_event(pid: str, i: int = 0) -> EventRow:
    return EventRow(
        at=T0 + timedelta(seconds=i),
        process="negotiation",
        process_id=pid,
        role="provider",
        direction="inbound",
        message="REQUEST",
        to_state="REQUESTED",
        peer_did="did:web:peer",
        detail={"i": i},
    )


def a_transfer_with_events(store: Store, steps: list[tuple[str, str, str]]) -> None:
    """A provider transfer (its record), then one transaction per (from, to, message) step."""
    with store.transaction() as tx:
        tx.add(
            TransferRow(
                id="urn:uuid:t1",
                role="provider",
                state="REQUESTED",
                peer_pid="urn:uuid:peer-t1",
                counterparty_did="did:web:peer",
                counterparty_address="https://peer.example/dsp",
                agreement_id="urn:uuid:a1",
                format="HttpData-PULL",
                created_at=T0,
                updated_at=T0,
            )
        )
    for i, (before, after, message) in enumerate(steps):
        with store.transaction() as tx:
            tx.add(
                EventRow(
                    at=T0.replace(minute=i + 1),
                    process="transfer",
                    process_id="urn:uuid:t1",
                    role="provider",
                    direction="inbound",
                    message=message,
                    from_state=before,
                    to_state=after,
                    peer_did="did:web:peer",
                    detail={},
                )
            )


def write_events(store: Store, n: int, prefix: str = "p") -> None:
    for i in range(n):
        with store.transaction() as tx:
            tx.add(an_event(f"{prefix}-{i}", i))


def all_entries(store: Store) -> list[tuple[int, int, str]]:
    """The stored entries, once what this store left pending is sealed (SQLite's batches)."""
    store.caught_up()
    with store.engine.connect() as c:
        rows = c.execute(text("SELECT seq, event_seq, body FROM audit_entry ORDER BY seq"))
        return [(int(r[0]), int(r[1]), r[2]) for r in rows]


def test_every_event_gets_an_entry_in_its_transaction(store: Store) -> None:
    with store.transaction() as tx:
        tx.add(an_event("p-1", 1))
        tx.add(an_event("p-1", 2))
    with store.transaction() as tx:
        tx.session.add(an_event("p-2", 3))  # even past Transaction.add
    entries = all_entries(store)
    assert [seq for seq, _, _ in entries] == [0, 1, 2]
    with store.engine.connect() as c:
        events = {int(r[0]): r for r in c.execute(text("SELECT seq, process_id FROM event"))}
    assert sorted(e for _, e, _ in entries) == sorted(events)  # one each way
    first = Entry.from_bytes(entries[0][2].encode())
    assert first.kind == "negotiation.transition" and first.subject == "p-1"
    assert first.details["event"] == entries[0][1] and first.details["detail"] == {"i": 1}
    assert first.time == T0 + timedelta(seconds=1) and first.peer == "did:web:peer"
    assert [Entry.from_bytes(b.encode()).seq for _, _, b in entries] == [0, 1, 2]


def test_a_rolled_back_transaction_leaves_neither_event_nor_entry(store: Store) -> None:
    write_events(store, 1)
    row = NegotiationRow(
        id="n",
        role="provider",
        state="REQUESTED",
        peer_pid="c",
        counterparty_did="d",
        counterparty_address="a",
        dataset_id="ds",
        offer={},
        offer_by="consumer",
        created_at=T0,
        updated_at=T0,
    )
    with store.transaction() as tx:
        tx.add(row)
    with pytest.raises(Conflict), store.transaction() as tx:
        tx.add(an_event("x"))
        tx.add(NegotiationRow(**{**row.model_dump(), "id": "n2"}))  # same peer pid
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.add(an_event("y"))
        raise RuntimeError("the handler failed after writing its event")
    write_events(store, 1, prefix="q")
    assert [seq for seq, _, _ in all_entries(store)] == [0, 1]  # no gap where they failed
    assert AuditQueries(store).size() == 2


def test_stored_tree_matches_the_reference_and_its_proofs_verify(store: Store) -> None:
    write_events(store, 37)
    audit = AuditQueries(store)
    bodies = [b.encode() for _, _, b in all_entries(store)]
    tree = MemoryTree(leaf_hash(b) for b in bodies)
    assert audit.size() == 37
    stored = audit.entries(0, 100)
    assert [e.leaf_hash for e in stored] == [leaf_hash(b) for b in bodies]
    assert [e.seq for e in audit.entries(30, 5)] == [30, 31, 32, 33, 34]
    for n in (1, 2, 5, 8, 16, 31, 37):
        assert audit.root(n) == tree.root(n)
        for m in {0, n // 2, n - 1}:
            proof = audit.inclusion_proof(m, n)
            assert proof == tree.inclusion_proof(m, n)
            verify_inclusion(m, n, leaf_hash(bodies[m]), proof, audit.root(n))
        for old in {1, n // 2 or 1, n}:
            proof = audit.consistency_proof(old, n)
            verify_consistency(old, n, audit.root(old), audit.root(n), proof)


def test_append_and_proof_touch_logarithmically_many_rows(store: Store) -> None:
    store.seal_delay = 3600.0  # SQLite: no batch falls due, no sealer thread runs meanwhile
    write_events(store, 300)
    store.caught_up()
    statements: list[str] = []

    def count(_conn: object, _cursor: object, sql: str, params: object, *_: object) -> None:
        statements.append(sql)
        if "audit_node" in sql and sql.lstrip().upper().startswith("SELECT"):
            keys.append(json.dumps(params, default=str).count(",") + 1)

    keys: list[int] = []
    event.listen(store.engine, "before_cursor_execute", count)
    try:
        with store.transaction() as tx:
            tx.add(an_event("last", 300))
        store.caught_up()  # SQLite: the entry left pending is sealed (PostgreSQL: none left)
        append_statements = [s for s in statements if "audit_" in s]
        statements.clear()
        event.remove(store.engine, "before_cursor_execute", count)
        read = store.read  # a proof reads in one statement of its own: counted here

        def counted(sql: str, params: Sequence[Any] = ()) -> list[Any]:
            count(None, None, sql, params)
            return read(sql, params)

        store.read = counted  # type: ignore[method-assign]
        AuditQueries(store).inclusion_proof(5, 301)
    finally:
        if event.contains(store.engine, "before_cursor_execute", count):
            event.remove(store.engine, "before_cursor_execute", count)
        store.__dict__.pop("read", None)
    # whatever the log's size: on PostgreSQL the pending row in the event's INSERT, then the
    # sealer's head lock and one statement writing everything; on SQLite the entries insert
    # (head read, pending events' read, nodes insert, head update and receipts
    # go to the driver's cursor, past these events)
    postgres = store.engine.dialect.name == "postgresql"
    assert len(append_statements) == (3 if postgres else 1), append_statements
    assert sum("audit_node" in s for s in statements) == 1  # one read for the whole proof
    assert keys and keys[0] <= 2 * 2 * 9  # (level, idx) pairs for ~2 log2(301) nodes


def test_several_processes_share_one_gap_free_sequence(database_url: str) -> None:
    engine = build_engine(database_url)
    upgrade(engine)
    stores = [Store(build_engine(database_url)) for _ in range(4)]  # one engine each: processes
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            write_events(stores[k], 15, prefix=f"w{k}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for s in stores[1:]:  # each "process" seals what it left pending (SQLite: a few ms later)
        s.caught_up()
    entries = all_entries(stores[0])
    assert [seq for seq, _, _ in entries] == list(range(60))
    assert len({e for _, e, _ in entries}) == 60
    tree = MemoryTree(leaf_hash(b.encode()) for _, _, b in entries)
    assert AuditQueries(stores[0]).root(60) == tree.root()
    for s in stores:
        s.dispose()
    engine.dispose()


def _recording_signer(signed: list[int]) -> Callable[[int, bytes, str | None], str]:
    """A stand-in for the key's signature that notes each size it signs."""

    def sign(size: int, root: bytes, _announced: str | None) -> str:
        signed.append(size)
        return f"note {size} {root.hex()}\n"

    return sign


def test_a_checkpoint_is_made_once_per_size_and_never_over_a_rewritten_log(store: Store) -> None:
    write_events(store, 4)
    audit = AuditQueries(store)
    signed: list[int] = []
    sign = _recording_signer(signed)

    first = audit.make_checkpoint(sign, T0)
    assert audit.make_checkpoint(sign, T0) == first and signed == [4]
    assert audit.latest_checkpoint() == first == audit.checkpoint(4)
    write_events(store, 2, prefix="more")
    assert audit.make_checkpoint(sign, T0).size == 6
    with store.engine.begin() as c:  # someone rewrites part of the tree behind the log's back
        c.execute(
            text("UPDATE audit_node SET hash = :h WHERE level = 2 AND idx = 0"), {"h": bytes(32)}
        )
    write_events(store, 1, prefix="after")
    with pytest.raises(Conflict) as caught:
        audit.make_checkpoint(sign, T0)
    assert caught.value.code == "log_inconsistent"


def test_no_checkpoint_is_signed_over_a_node_rewritten_above_the_last_ones_subtrees(
    store: Store,
) -> None:
    # Checkpoint 4 is the node (2, 0); the tree of 9 folds (3, 0) over it. Rewriting (3, 0)
    # leaves (2, 0) as signed, so a check of the old root alone signed 9 over the rewrite.
    write_events(store, 4)
    audit = AuditQueries(store)
    signed: list[int] = []
    sign = _recording_signer(signed)

    audit.make_checkpoint(sign, T0)
    write_events(store, 5, prefix="more")
    store.caught_up()  # the node (3, 0) is written
    with store.engine.begin() as c:
        rewritten = c.execute(
            text("UPDATE audit_node SET hash = :h WHERE level = 3 AND idx = 0"), {"h": bytes(32)}
        )
        assert rewritten.rowcount == 1
    with pytest.raises(Conflict) as caught:
        audit.make_checkpoint(sign, T0)
    assert caught.value.code == "log_inconsistent" and signed == [4]


def test_a_checkpoint_is_checked_against_the_last_by_a_consistency_proof(store: Store) -> None:
    write_events(store, 6)
    audit = AuditQueries(store)
    first = audit.make_checkpoint(lambda size, root, _k: f"note {size}\n", T0)
    write_events(store, 7, prefix="more")
    second = audit.make_checkpoint(lambda size, root, _k: f"note {size}\n", T0)
    entries = all_entries(store)
    tree = MemoryTree(leaf_hash(b.encode()) for _, _, b in entries)
    assert (first.root, second.root) == (tree.root(6), tree.root(13))
    verify_consistency(6, 13, first.root, second.root, tree.consistency_proof(6, 13))


def test_a_size_already_signed_is_served_without_the_head_lock(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_events(store, 3)
    audit = AuditQueries(store)
    first = audit.make_checkpoint(lambda size, root, _k: f"note {size}\n", T0)

    def no_transaction() -> None:
        raise AssertionError("a reused checkpoint needs no write transaction")

    monkeypatch.setattr(store, "transaction", no_transaction)
    again = audit.make_checkpoint(lambda size, root, _k: "not signed again\n", T0)
    assert again == first
