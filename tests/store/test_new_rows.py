"""New rows of the plain tables written at seal by store.new_rows (not the ORM's flush): the
same rows, the events numbered in order with their audit entries, the objects left as a
commit leaves them; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy import inspect as sa_inspect
from sqlmodel import select

from connector.store.audit_log import AuditQueries
from connector.store.audit_tables import AuditEntryRow
from connector.store.database import build_engine
from connector.store.hold_queries import drop_hold, hold_of
from connector.store.hold_tables import HoldRow, ProcessRulesRow
from connector.store.migrate import upgrade
from connector.store.new_rows import new_row
from connector.store.store import Store
from connector.store.tables import EventRow, NegotiationRow

T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    engine = build_engine(database_url)
    upgrade(engine)
    s = Store(engine)
    yield s
    s.dispose()


def _negotiation(pid: str, **values: Any) -> NegotiationRow:
    fields: dict[str, Any] = {
        "id": pid,
        "role": "provider",
        "state": "REQUESTED",
        "peer_pid": f"c-{pid}",
        "counterparty_did": "did:web:peer",
        "counterparty_address": "http://peer/cb",
        "dataset_id": "ds",
        "offer": {"@id": "o", "permission": [{"action": "use"}]},
        "offer_by": "consumer",
        "pending_detail": {"agreement": {"@id": "a"}},
        "next_attempt_at": T0,
        "created_at": T0,
        "updated_at": T0,
    }
    return new_row(NegotiationRow, **(fields | values))


def _event(pid: str, message: str) -> EventRow:
    return new_row(
        EventRow,
        at=T0,
        process="negotiation",
        process_id=pid,
        role="provider",
        direction="inbound",
        message=message,
        to_state="REQUESTED",
        peer_did="did:web:peer",
        detail={"n": message},
    )


def _statements(store: Store) -> list[str]:
    sent: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(store.engine, "before_cursor_execute", note)
    return sent


def _columns(row: Any) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in type(row).__table__.c}


def test_new_row_builds_what_the_constructor_builds() -> None:
    values: dict[str, Any] = {"process_id": "p", "process": "negotiation", "role": "provider"}
    values |= {"waiting_for": "AGREEMENT", "since": T0}
    values.pop("process_id")
    fast, slow = new_row(HoldRow, process_id="p", **values), HoldRow(process_id="p", **values)
    assert _columns(fast) == _columns(slow)
    assert fast.detail == {} and fast.detail is not slow.detail  # a default factory's own
    assert fast.__pydantic_fields_set__ == slow.__pydantic_fields_set__
    assert fast.model_dump() == slow.model_dump()
    assert sa_inspect(fast).transient
    # the history a flush reads (a delete and an insert of one key become an UPDATE)
    assert sa_inspect(fast).committed_state == sa_inspect(slow).committed_state
    assert sa_inspect(fast).modified == sa_inspect(slow).modified


def test_new_rows_go_as_one_insert_per_table_and_read_back_as_written(store: Store) -> None:
    sent = _statements(store)
    with store.transaction() as tx:
        row = _negotiation("n-1")
        tx.add(row)
        tx.add(_event("n-1", "FIRST"))
        tx.add(_event("n-1", "SECOND"))
        tx.add(new_row(ProcessRulesRow, process_id="n-1", rules={"steps": {"agree": "hold"}}))
        tx.add(
            new_row(
                HoldRow,
                process_id="n-1",
                process="negotiation",
                role="provider",
                waiting_for="AGREEMENT",
                since=T0,
            )
        )
    # (PostgreSQL: the events' INSERT writes the audit log's pending rows in the same statement)
    plain = [s.removeprefix("WITH written AS (") for s in sent]
    inserts = [s.split()[2] for s in plain if s.startswith("INSERT INTO") and "audit" not in s]
    inserts += [s.split()[2] for s in plain if s.startswith("INSERT INTO event") and "audit" in s]
    assert sorted(inserts) == ["event", "hold", "negotiation", "process_rules"], sent
    # as a commit with expire_on_commit=False leaves a flushed row: detached, all loaded
    state = sa_inspect(row)
    assert state.detached and state.identity == ("n-1",) and not state.expired_attributes
    store.caught_up()  # SQLite seals entries in batches a few ms after their commits
    with store.transaction() as tx:
        stored = tx.process(NegotiationRow, "n-1")
        assert _columns(stored) == _columns(row)
        events = tx.events("n-1")
        assert [e.message for e in events] == ["FIRST", "SECOND"]  # numbered in added order
        assert events[0].seq is not None and events[1].seq == events[0].seq + 1
        entries = tx.session.exec(select(AuditEntryRow).order_by(AuditEntryRow.seq)).all()
        assert [e.event_seq for e in entries] == [e.seq for e in events]  # each its entry
        assert hold_of(tx, "n-1") is not None
    assert AuditQueries(store).size() == 2


def test_a_row_written_so_is_updated_later_not_inserted_again(store: Store) -> None:
    with store.transaction() as tx:
        row = _negotiation("n-2")
        tx.add(row)
    with store.transaction() as tx:
        row.state = "AGREED"
        tx.add(row)  # detached with its identity: an UPDATE
    with store.transaction() as tx:
        assert tx.process(NegotiationRow, "n-2").state == "AGREED"


def test_a_session_that_deletes_leaves_its_new_rows_to_the_orm(store: Store) -> None:
    """A delete and an insert of one key in one transaction (a hold replaced): the flush
    orders them, so nothing goes ahead of it."""
    hold: dict[str, Any] = {
        "process_id": "n-3",
        "process": "negotiation",
        "role": "provider",
        "since": T0,
    }
    with store.transaction() as tx:
        tx.add(_negotiation("n-3"))
        tx.add(new_row(HoldRow, waiting_for="AGREEMENT", **hold))
    with store.transaction() as tx:
        assert drop_hold(tx, "n-3") is not None
        tx.add(new_row(HoldRow, waiting_for="FINALIZED", **hold))
        tx.add(_event("n-3", "OPERATOR"))
    with store.transaction() as tx:
        stored = hold_of(tx, "n-3")
        assert stored is not None and stored.waiting_for == "FINALIZED"
        assert [e.message for e in tx.events("n-3")] == ["OPERATOR"]
    assert AuditQueries(store).size() == 1
