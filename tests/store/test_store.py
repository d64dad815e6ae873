"""The store contract, run on SQLite and on PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import select

from connector.errors import Conflict, NotFound, StoreError
from connector.store.database import build_engine
from connector.store.dataplane_queries import DataPlaneQueries
from connector.store.dataplane_tables import PushJobRow
from connector.store.migrate import current_revision, head_revision, upgrade
from connector.store.store import Store
from connector.store.tables import DatasetRow, EventRow, NegotiationRow, OfferRow

T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(database_url: str) -> Store:
    engine = build_engine(database_url)
    upgrade(engine)
    s = Store(engine)
    yield s
    s.dispose()


def negotiation(
    pid: str, *, peer_pid: str | None = "c-1", due: datetime | None = None
) -> NegotiationRow:
    return NegotiationRow(
        id=pid,
        role="provider",
        state="REQUESTED",
        peer_pid=peer_pid,
        counterparty_did="did:web:peer",
        counterparty_address="http://peer/cb",
        dataset_id="ds",
        offer={"@id": "o"},
        offer_by="consumer",
        pending="AGREEMENT" if due else None,
        next_attempt_at=due,
        created_at=T0,
        updated_at=T0,
    )


def test_migrations_reach_head(store: Store) -> None:
    assert current_revision(store.engine) == head_revision() is not None
    upgrade(store.engine)  # idempotent
    assert current_revision(store.engine) == head_revision()


def test_rows_round_trip_with_aware_timestamps(store: Store) -> None:
    with store.transaction() as tx:
        tx.add(
            DatasetRow(
                id="ds", title="水位", keywords=["河川"], data_address={"secret": 1}, created_at=T0
            )
        )
        tx.add(OfferRow(id="o1", dataset_id="ds", policy={"a": [1]}, created_at=T0))
    with store.transaction() as tx:
        row = tx.dataset("ds")
        assert (
            row.title == "水位" and row.keywords == ["河川"] and row.data_address == {"secret": 1}
        )
        assert row.created_at == T0 and row.created_at.tzinfo is not None
        assert [o.id for o in tx.offers(["ds"])] == ["o1"]
        assert [o.id for o in tx.offers()] == ["o1"]


def test_unknown_rows_are_not_found(store: Store) -> None:
    with store.transaction() as tx, pytest.raises(NotFound):
        tx.dataset("nope")
    with store.transaction() as tx, pytest.raises(NotFound):
        tx.process(NegotiationRow, "nope")


def test_process_lookup_checks_role(store: Store) -> None:
    with store.transaction() as tx:
        tx.add(negotiation("p-1"))
    with store.transaction() as tx:
        assert tx.process(NegotiationRow, "p-1", role="provider").id == "p-1"
        with pytest.raises(NotFound):
            tx.process(NegotiationRow, "p-1", role="consumer")


def test_same_peer_pid_twice_is_a_conflict_and_changes_nothing(store: Store) -> None:
    with store.transaction() as tx:
        tx.add(negotiation("p-1"))
    with pytest.raises(Conflict), store.transaction() as tx:
        tx.add(
            EventRow(
                at=T0,
                process="negotiation",
                process_id="p-2",
                role="provider",
                direction="inbound",
                message="X",
                to_state="REQUESTED",
                peer_did="d",
            )
        )
        tx.add(negotiation("p-2"))  # same (role, counterparty, peer_pid)
    with store.transaction() as tx:
        assert tx.count_events() == 0  # the whole transaction rolled back
        found = tx.process_by_peer(
            NegotiationRow, role="provider", counterparty_did="did:web:peer", peer_pid="c-1"
        )
        assert found is not None and found.id == "p-1"


def test_replay_cache_remembers_until_expiry(store: Store) -> None:
    assert store.remember("did:a", "j1", T0 + timedelta(minutes=5))
    assert not store.remember("did:a", "j1", T0 + timedelta(minutes=5))
    assert store.remember("did:b", "j1", T0 + timedelta(minutes=5))  # per issuer
    assert store.forget_expired_tokens(T0 + timedelta(minutes=6)) == 2
    assert store.remember("did:a", "j1", T0 + timedelta(minutes=10))


def test_claim_due_leases_each_row_once(store: Store) -> None:
    with store.transaction() as tx:
        for i in range(5):
            tx.add(negotiation(f"p-{i}", peer_pid=f"c-{i}", due=T0))
        tx.add(negotiation("later", peer_pid="c-later", due=T0 + timedelta(hours=1)))

    def claim(owner: str, now: datetime = T0) -> list[str]:
        with store.transaction() as tx:
            rows = tx.claim_due(NegotiationRow, owner=owner, now=now, lease_seconds=30, limit=10)
            assert all(r.lease_owner == owner for r in rows)
            return [r.id for r in rows]

    with store.transaction() as tx:
        first = [
            r.id
            for r in tx.claim_due(NegotiationRow, owner="r1", now=T0, lease_seconds=30, limit=3)
        ]
    second = claim("r2")
    assert len(first) == 3 and len(second) == 2 and not set(first) & set(second)
    assert claim("r3") == []
    with store.transaction() as tx:  # held rows are not due for anyone else
        assert tx.next_due(NegotiationRow, now=T0) == T0 + timedelta(hours=1)
    # leases lapse: a crashed runner's work is picked up again
    again = claim("r3", T0 + timedelta(seconds=31))
    assert sorted(again) == sorted(first + second)
    with store.transaction() as tx:
        assert tx.next_due(NegotiationRow, now=T0 + timedelta(seconds=62)) == T0


def test_concurrent_claims_never_overlap(store: Store) -> None:
    with store.transaction() as tx:
        for i in range(40):
            tx.add(negotiation(f"p-{i}", peer_pid=f"c-{i}", due=T0))
    claimed: list[list[str]] = []

    def claim(owner: str) -> None:
        for _ in range(10):
            with store.transaction() as tx:
                rows = tx.claim_due(NegotiationRow, owner=owner, now=T0, lease_seconds=30, limit=2)
                claimed.append([r.id for r in rows])

    threads = [threading.Thread(target=claim, args=(f"r{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    flat = [pid for batch in claimed for pid in batch]
    assert len(flat) == len(set(flat)) == 40


def test_running_pushes_keep_their_leases(store: Store) -> None:
    queries = DataPlaneQueries(store)
    with store.transaction() as tx:
        for pid, state in (("t-running", "pending"), ("t-other", "pending"), ("t-done", "done")):
            tx.add(PushJobRow(transfer_id=pid, state=state, next_attempt_at=T0, updated_at=T0))
    [claimed] = [j.transfer_id for j in queries.claim_pushes(T0, 600, 1)]
    queries.renew_pushes([claimed, "t-done"], T0 + timedelta(seconds=900))
    with store.transaction() as tx:
        leases = {
            j.transfer_id: j.lease_until for j in tx.session.execute(select(PushJobRow)).scalars()
        }
    assert leases[claimed] is not None
    assert leases[claimed].replace(tzinfo=UTC) == T0 + timedelta(seconds=900)
    assert leases["t-done"] is None  # a finished push is not held
    # The lease has not lapsed at the old expiry: nobody else can claim the running push.
    later = queries.claim_pushes(T0 + timedelta(seconds=601), 600, 8)
    assert claimed not in [j.transfer_id for j in later]


# -- shutting down while a worker thread is still inside a transaction -------------------------


def _is_closed(dbapi_connection: Any) -> bool:
    closed = getattr(dbapi_connection, "closed", None)  # psycopg
    if closed is not None:
        return bool(closed)
    try:  # sqlite3 tells only by refusing
        dbapi_connection.execute("SELECT 1")
    except sqlite3.ProgrammingError:
        return True
    return False


def test_dispose_waits_for_a_transaction_still_running_in_another_thread(store: Store) -> None:
    """A cancelled task's worker thread may still be in a transaction when the connector shuts
    down; its connection is closed with the rest, not stranded in the discarded pool."""
    used: list[Any] = []
    event.listen(store.engine, "checkout", lambda dbapi, *_: used.append(dbapi))
    inside = threading.Event()

    def straggler() -> None:
        with store.transaction() as tx:
            tx.datasets()  # holds a connection from here
            inside.set()
            deadline = time.monotonic() + 10
            while not store.closed and time.monotonic() < deadline:
                time.sleep(0.001)  # until dispose() has begun

    worker = threading.Thread(target=straggler)
    worker.start()
    assert inside.wait(10)
    store.dispose()  # returns only once the straggler's connection is back
    worker.join(10)
    assert used and all(_is_closed(c) for c in used)


def test_a_disposed_store_refuses_new_transactions(store: Store) -> None:
    store.dispose()
    with pytest.raises(StoreError) as caught, store.transaction():
        pass
    assert caught.value.code == "store_closed"
    with pytest.raises(StoreError):
        store.remember("did:a", "j1", T0)


def test_a_database_failure_tells_callers_no_sql(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """The driver's words (table names, the statement) go to the operator's log; the error
    a peer or API client hears says only that the store is unavailable."""
    from sqlalchemy import text

    with pytest.raises(StoreError) as caught, store.transaction() as tx:
        tx.session.execute(text("SELECT secret_column FROM no_such_table"))
    assert caught.value.code == "store_unavailable"
    assert "no_such_table" not in caught.value.message
    assert "SELECT" not in caught.value.message
    assert "no_such_table" in caplog.text


def test_the_replayed_migration_the_tests_use_makes_the_migrated_schema() -> None:
    """tests/conftest.py gives PostgreSQL participants a schema made by replaying what the
    migration sent once; it must be the schema the migration itself makes (tables, columns,
    indexes, constraints and the recorded revision)."""
    import contextlib
    import os

    from sqlalchemy import create_engine, text

    from connector.store.database import normalise_url
    from tests.conftest import PG_ENV, PostgresSchemas

    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} not set (CI sets it to the local PostgreSQL)")
    schemas = PostgresSchemas(base)
    admin = create_engine(normalise_url(base))
    try:
        migrated, replayed = schemas.new(), schemas.new(migrated=True)
        engine = build_engine(migrated)
        upgrade(engine)
        engine.dispose()
        names = [url.rsplit("%3D", 1)[1] for url in (migrated, replayed)]
        shapes = {
            "columns": "SELECT table_name, column_name, data_type, is_nullable, column_default"
            " FROM information_schema.columns WHERE table_schema = :s",
            "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes"
            " WHERE schemaname = :s",
            "constraints": "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
            " FROM pg_constraint WHERE connamespace = CAST(:s AS regnamespace)",
        }
        with contextlib.closing(admin.connect()) as conn:
            for what, query in shapes.items():
                found = []
                for name in names:
                    rows = conn.execute(text(query), {"s": name}).all()
                    found.append(sorted(tuple(str(v).replace(name, "S") for v in r) for r in rows))
                assert found[0] and found[0] == found[1], what
            versions = [
                conn.execute(text(f'SELECT version_num FROM "{n}".alembic_version')).all()
                for n in names
            ]
            assert versions[0] == versions[1] == [(head_revision(),)]
    finally:
        admin.dispose()
        schemas.drop_all()


def test_replay_records_commit_relaxed_and_nothing_else_does(store: Store) -> None:
    """On PostgreSQL the replay insert relaxes its own commit (not waiting for the disk) and
    only its own: it runs as a transaction of its own (autocommit, on a connection the replay
    cache keeps) that sets synchronous_commit for itself, and a state transaction afterwards
    on the same pool commits synchronously."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("synchronous_commit is PostgreSQL's")
    seen: list[str] = []

    def at_commit(connection: Any) -> None:
        raw = connection.connection.dbapi_connection
        seen.append(raw.execute("SHOW synchronous_commit").fetchone()[0])

    event.listen(store.engine, "commit", at_commit)
    try:
        assert store.remember("did:a", "j1", T0 + timedelta(minutes=5))
        assert not store.remember("did:a", "j1", T0 + timedelta(minutes=5))
        with store.transaction() as tx:
            tx.add(negotiation("p-relaxed"))
    finally:
        event.remove(store.engine, "commit", at_commit)
    assert seen == ["on"]
    assert "set_config" in store._remember_pg[0]  # the insert's own setting, in its statement
    assert len(store._kept or ()) == 1  # both tokens on one kept connection ...
    with store._kept.one() as kept:  # type: ignore[union-attr]
        raw = kept.driver_connection
        assert raw.autocommit  # ... each insert a transaction of its own ...
        # ... whose setting ended with it
        assert raw.execute("SHOW synchronous_commit").fetchone()[0] == "on"


def test_replay_connections_are_kept_given_back_and_replaced_when_broken(store: Store) -> None:
    """PostgreSQL: the replay cache keeps its connections out of the pool between tokens; a
    broken one is dropped (the next token takes a fresh one), and dispose gives them back."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's one replay connection: tests/store/test_replay_connection.py")
    for n in range(5):
        assert store.remember("did:a", f"k{n}", T0 + timedelta(minutes=5))
    assert len(store._kept or ()) == 1
    assert store.engine.pool.checkedout() == 1  # type: ignore[attr-defined]
    kept = store._kept
    assert kept is not None

    def end_its_session() -> None:  # the server ends the kept session, as a restart would
        with kept.one() as connection:
            pid = connection.driver_connection.info.backend_pid
        with store.engine.connect() as other:
            other.exec_driver_sql(f"SELECT pg_terminate_backend({pid}, 5000)")  # gone on return

    end_its_session()
    kept.idle_ping_seconds = 0.0  # idle long enough to be pinged first: the token goes through
    assert store.remember("did:a", "k-pinged", T0 + timedelta(minutes=5))
    end_its_session()
    kept.idle_ping_seconds = 3600.0  # not pinged: that token fails, and only that one
    with pytest.raises(StoreError):
        store.remember("did:a", "k-lost", T0 + timedelta(minutes=5))
    assert len(store._kept or ()) == 0
    assert store.remember("did:a", "k-next", T0 + timedelta(minutes=5))  # on a fresh one
    assert not store.remember("did:a", "k1", T0 + timedelta(minutes=5))  # still remembered
    store.dispose(timeout=1.0)
    assert store.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


# -- reads that take no row lock -------------------------------------------------------------------


def test_a_process_read_without_lock_does_not_wait_for_a_writer(postgres_url: str) -> None:
    """A read that changes nothing (the management API's GET) takes no row lock: it neither
    waits for a transaction that holds one nor writes a lock that its commit must flush."""
    from sqlalchemy import text

    engine = build_engine(postgres_url)
    upgrade(engine)
    store = Store(engine)
    try:
        with store.transaction() as tx:
            tx.add(negotiation("n-locked"))
        with store.transaction() as writer:
            assert writer.process(NegotiationRow, "n-locked").state == "REQUESTED"  # locked
            with store.transaction() as reader:
                reader.session.execute(text("SET LOCAL lock_timeout = '2s'"))
                row = reader.process(NegotiationRow, "n-locked", lock=False)
                assert row.id == "n-locked"
                locks = reader.session.execute(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid()"
                        " AND locktype = 'transactionid'"
                    )
                ).scalar_one()
                assert locks == 0  # no transaction id taken: a read-only transaction
            with pytest.raises(StoreError), store.transaction() as reader:
                reader.session.execute(text("SET LOCAL lock_timeout = '200ms'"))
                reader.process(NegotiationRow, "n-locked")  # the locking read waits, in vain
    finally:
        store.dispose()


def test_a_process_id_by_the_peers_pid_is_found_locked_without_loading_the_row(
    store: Store,
) -> None:
    with store.transaction() as tx:
        tx.add(negotiation("p-1", peer_pid="c-1"))
    with store.transaction() as tx:
        assert (
            tx.process_id_by_peer(
                NegotiationRow, role="provider", counterparty_did="did:web:peer", peer_pid="c-1"
            )
            == "p-1"
        )
        assert not any(isinstance(o, NegotiationRow) for o in tx.session.identity_map.values())
        assert (
            tx.process_id_by_peer(
                NegotiationRow, role="consumer", counterparty_did="did:web:peer", peer_pid="c-1"
            )
            is None
        )
        if store.engine.dialect.name == "postgresql":  # the row is held as process_by_peer holds it
            with store.engine.connect() as other:
                with pytest.raises(Exception, match="could not obtain lock"):
                    other.exec_driver_sql(
                        "SELECT id FROM negotiation WHERE id = 'p-1' FOR UPDATE NOWAIT"
                    )
