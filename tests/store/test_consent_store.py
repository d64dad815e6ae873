"""Consent in the store, on SQLite and PostgreSQL: records with their history, receipts and
events written in one transaction, and the data plane's one query agreeing with the model's
rule for every case."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from connector.errors import NotFound
from connector.identity.keys import SigningKey
from connector.identity.receipts import sign_receipt
from connector.store.consent_queries import ConsentQueries
from connector.store.database import build_engine
from connector.store.store import Store
from policies.consent import (
    ROLE,
    ConsentRecord,
    ConsentScope,
    ConsentStatus,
    StatusEvent,
    lineage,
    new_record,
)
from policies.purposes import PurposeTree

T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
JST = timezone(timedelta(hours=9))
DISASTER = "https://w3id.org/tsunagu/vocab/purpose/disaster-response"
EVACUATION = "https://w3id.org/tsunagu/vocab/purpose/evacuation-decision-support"
MARKETING = "https://w3id.org/dpv#Marketing"
TREE = PurposeTree({EVACUATION: [DISASTER]})
C, D = "did:web:c", "did:web:d"
KEY = SigningKey.generate("did:web:a#key-1")


@pytest.fixture
def queries(migrated_database_url: str) -> Iterator[ConsentQueries]:
    engine = build_engine(migrated_database_url)
    store = Store(engine)
    yield ConsentQueries(store)
    store.dispose()


def sign(record: ConsentRecord, event: StatusEvent) -> tuple[str, str]:
    receipt_id = f"urn:uuid:receipt-{record.id}-{len(record.events)}"
    return receipt_id, sign_receipt(KEY, record, event, receipt_id=receipt_id)


def give(queries: ConsentQueries, n: int, **fields: object) -> ConsentRecord:
    data = {"subject": f"r-{n}", "purposes": [DISASTER], "recipients": [C], **fields}
    record = new_record(
        data, record_id=f"urn:uuid:{n}", controller="did:web:a", now=T0, by="did:web:a",
        method="test",
    )  # fmt: skip
    return queries.give(record, sign, direction="local").record


def test_a_record_reads_back_as_given_with_receipt_and_event(queries: ConsentQueries) -> None:
    record = give(queries, 1, valid_until=(T0 + timedelta(days=1)).astimezone(JST).isoformat())
    back = queries.record(record.id)
    assert back == record
    assert back.valid_until == T0 + timedelta(days=1)
    assert [r["status"] for r in queries.receipts(record.id)] == ["given"]
    with queries.store.transaction() as tx:
        assert [e.message for e in tx.events(record.id)] == ["ConsentGiven"]


def test_a_change_that_fails_leaves_nothing(queries: ConsentQueries) -> None:
    record = give(queries, 1)

    def broken(_record: ConsentRecord, _event: StatusEvent) -> tuple[str, str]:
        raise RuntimeError("the key is gone")

    event = StatusEvent(ConsentStatus.WITHDRAWN, T0 + timedelta(seconds=1), "r-1")
    with pytest.raises(RuntimeError):
        queries.change(record.id, event, broken, direction="local")
    assert queries.record(record.id).status(T0 + timedelta(seconds=2)) is ConsentStatus.GIVEN
    with queries.store.transaction() as tx:
        assert len(tx.events(record.id)) == 1
    with pytest.raises(NotFound):
        queries.change(record.id, event, sign, direction="local", subject="r-2")


def test_expired_records_are_found_for_their_expiry(queries: ConsentQueries) -> None:
    give(queries, 1, valid_until=(T0 + timedelta(hours=1)).isoformat())
    give(queries, 2)
    assert queries.expired_given(T0 + timedelta(minutes=59)) == []
    assert queries.expired_given(T0 + timedelta(hours=1)) == ["urn:uuid:1"]


def test_the_query_agrees_with_the_model_in_every_case(queries: ConsentQueries) -> None:
    hour = timedelta(hours=1)
    records = [
        give(queries, 1),
        give(queries, 2, purposes=[EVACUATION]),
        give(queries, 3, recipients=["role:municipality"]),
        give(queries, 4, datasets=["ds-a"]),
        give(queries, 5, valid_from=(T0 + hour).isoformat(), valid_until=(T0 + 2 * hour).isoformat()),
        give(queries, 6, purposes=[DISASTER, MARKETING], recipients=[C, D]),
        give(queries, 7),
        give(queries, 8, recipients=[D]),
    ]  # fmt: skip
    withdrawn_at = T0 + timedelta(minutes=30)
    change = queries.change(
        "urn:uuid:7",
        StatusEvent(ConsentStatus.WITHDRAWN, withdrawn_at, "r-7"),
        sign,
        direction="local",
    )
    records[6] = change.record
    scopes = [
        ConsentScope(frozenset(p), frozenset(r), ds)
        for p, r, ds in itertools.product(
            [{DISASTER}, {EVACUATION}, {MARKETING}, {DISASTER, MARKETING}],
            [{C}, {D}, {C, ROLE + "municipality"}],
            ["ds-a", "ds-b"],
        )
    ]
    # The store knows the status as last recorded: it answers for now, never for the past.
    instants = [
        withdrawn_at,
        T0 + hour - timedelta(microseconds=1),
        T0 + hour,
        T0 + 2 * hour - timedelta(microseconds=1),
        T0 + 2 * hour,
    ]
    for scope, at in itertools.product(scopes, instants):
        assert scope.purposes is not None and scope.dataset is not None
        expected = {r.subject for r in records if r.covers(scope, at, TREE)}
        got = queries.consenting(
            dataset_id=scope.dataset,
            purposes=[lineage(p, TREE) for p in sorted(scope.purposes)],
            recipients=scope.recipients,
            now=at,
        )
        assert set(got) == expected, (scope, at)
    ends = queries.consenting(
        dataset_id="ds-a", purposes=[lineage(DISASTER, TREE)], recipients=frozenset({C}), now=T0 + hour
    )  # fmt: skip
    assert ends["r-5"] == T0 + 2 * hour and ends["r-1"] is None
