"""An initial contract request is a handful of statements on either database: its reads in
two queries (the process it may repeat; the dataset's offers with their steps and retirement)
and its rows written out once, at commit (a look-up in between used to write them early and
then UPDATE the new row again: a round trip each on PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event

from connector.clock import ManualClock
from connector.control.negotiations import NegotiationService
from connector.control.peers import Peer
from connector.errors import MessageError
from connector.protocol.base import parse_message
from connector.protocol.messages import ContractRequestMessage
from connector.store.database import build_engine
from connector.store.dataset_queries import retire
from connector.store.hold_queries import hold_of, rules_of, set_offer_steps
from connector.store.store import Store
from connector.store.tables import DatasetRow, NegotiationRow, OfferRow
from policies.decision import DecisionPoint

NOW = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
DATASET = "urn:d:river"
PEER = Peer(did="did:web:c-village.example", claims={"role": "municipality", "memberships": []})


def _policy(uid: str) -> dict[str, Any]:
    return {"@type": "Offer", "@id": uid, "permission": [{"action": "use"}]}


@pytest.fixture
def store(migrated_database_url: str) -> Iterator[Store]:
    s = Store(build_engine(migrated_database_url))
    s.seal_delay = 3600.0  # no sealer thread's statements among the request's own
    with s.transaction() as tx:
        tx.add(DatasetRow(id=DATASET, title="river", created_at=NOW))
        tx.add(DatasetRow(id="urn:d:old", title="old", created_at=NOW))
        for uid, approval in (("urn:o:open", False), ("urn:o:parked", True), ("urn:o:held", False)):
            tx.add(
                OfferRow(
                    id=uid,
                    dataset_id=DATASET,
                    policy=_policy(uid),
                    requires_approval=approval,
                    created_at=NOW,
                )
            )
        tx.add(
            OfferRow(
                id="urn:o:old", dataset_id="urn:d:old", policy=_policy("urn:o:old"), created_at=NOW
            )
        )
        tx.session.flush()
        set_offer_steps(tx, "urn:o:held", {"agree": "hold", "finalize": "hold"})
        retire(tx, "urn:d:old", now=NOW, reason="gauge moved")
    yield s
    s.dispose()


def _service(store: Store) -> NegotiationService:
    return NegotiationService(
        store,
        ManualClock(),
        own_did="did:web:a-city.example",
        callback_address="http://127.0.0.1:1/callback",
        provider_address="http://127.0.0.1:1/dsp",
        pdp=DecisionPoint(),
    )


def _request(offer_id: str, dataset: str = DATASET) -> ContractRequestMessage:
    return parse_message(
        {
            "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
            "@type": "ContractRequestMessage",
            "consumerPid": f"urn:uuid:{uuid.uuid4()}",
            "callbackAddress": "http://127.0.0.1:2/callback",
            "offer": {**_policy(offer_id), "target": dataset},
        },
        ContractRequestMessage,
    )


def _statements(store: Store) -> list[str]:
    """The request's own statements: those of its transaction up to the commit, but for the
    audit log's (PostgreSQL writes its pending rows in the events' INSERT: counted as that)."""
    sent: list[str] = []
    done: list[bool] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        start = " ".join(statement.removeprefix("WITH written AS (").split()[:3])
        if not done and "audit" not in start:
            sent.append(start)

    event.listen(store.engine, "before_cursor_execute", note)
    event.listen(store.engine, "commit", lambda _conn: done.append(True))
    return sent


@pytest.mark.parametrize(
    ("offer_id", "waiting"), [("urn:o:parked", True), ("urn:o:held", True), ("urn:o:open", False)]
)
def test_an_initial_request_reads_twice_and_writes_once(
    store: Store, offer_id: str, waiting: bool
) -> None:
    service = _service(store)
    service.on_request(PEER, _request("urn:o:open"))  # warm: the policies are read once
    sent = _statements(store)
    row, created = service.on_request(PEER, _request(offer_id))
    assert created
    assert [s for s in sent if s.startswith("SELECT")] == [
        "SELECT id FROM",  # the process this may repeat (its id only: none, mostly)
        "SELECT offer.id, offer.dataset_id,",  # the offers, their steps, the retirement
    ], sent
    # written once: the new row already holds (no UPDATE), the rules and hold are not looked for
    assert not [s for s in sent if not s.startswith(("SELECT", "INSERT"))], sent
    tables = {s.split()[2] for s in sent if s.startswith("INSERT")}
    assert tables == {"negotiation", "event"} | ({"hold"} if waiting else set()) | (
        {"process_rules"} if offer_id == "urn:o:held" else set()
    ), sent
    with store.transaction() as tx:
        stored = tx.process(NegotiationRow, row.id)
        assert stored.awaiting_decision is waiting
        assert (hold_of(tx, row.id) is not None) is waiting
        assert [e.message for e in tx.events(row.id)] == (
            ["CONTRACT_REQUEST", "HOLD"] if waiting else ["CONTRACT_REQUEST"]
        )
        if offer_id == "urn:o:held":  # the offer's steps go with the process
            assert rules_of(tx, row.id) == {"steps": {"agree": "hold", "finalize": "hold"}}
        else:
            assert rules_of(tx, row.id) == {}
    assert (stored.pending == "AGREEMENT") is not waiting


def test_a_repeated_initial_request_gets_the_same_process(store: Store) -> None:
    service = _service(store)
    msg = _request("urn:o:parked")
    first, created = service.on_request(PEER, msg)
    again, created_again = service.on_request(PEER, msg)
    assert created and not created_again
    assert again.id == first.id


@pytest.mark.parametrize(
    ("offer_id", "dataset", "code"),
    [
        ("urn:o:open", "urn:d:none", "unknown_dataset"),
        ("urn:o:old", "urn:d:old", "dataset_retired"),
        ("urn:o:other", DATASET, "unknown_offer"),
    ],
)
def test_requests_the_dataset_cannot_take_are_refused(
    store: Store, offer_id: str, dataset: str, code: str
) -> None:
    with pytest.raises(MessageError) as raised:
        _service(store).on_request(PEER, _request(offer_id, dataset))
    assert raised.value.code == code
    if code == "dataset_retired":
        assert "gauge moved" in str(raised.value)
    with store.transaction() as tx:
        assert not tx.processes(NegotiationRow)
