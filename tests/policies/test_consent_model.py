"""The consent model: validity boundaries with the clock, status history, the coverage rule,
the agreement's scope, and DPV JSON-LD."""

from __future__ import annotations

import json
import warnings
from datetime import UTC, datetime, timedelta, timezone

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from connector.clock import ManualClock
from policies.consent import (
    DPV,
    ROLE,
    ConsentScope,
    ConsentStatus,
    InvalidConsent,
    StatusEvent,
    from_jsonld,
    new_record,
)
from policies.consent_scope import agreement_scope
from policies.purposes import PurposeTree
from policies.templates import personal_data_under_consent

DISASTER = "https://w3id.org/tsunagu/vocab/purpose/disaster-response"
EVACUATION = "https://w3id.org/tsunagu/vocab/purpose/evacuation-decision-support"
MARKETING = DPV + "Marketing"
C = "did:web:c.example"
TREE = PurposeTree({EVACUATION: [DISASTER]})
JST = timezone(timedelta(hours=9))


def record(clock: ManualClock, **fields: object) -> object:
    data = {"subject": "resident-001", "purposes": [DISASTER], "recipients": [C], **fields}
    return new_record(
        data, record_id="urn:uuid:r1", controller="did:web:a", now=clock(), by="did:web:a",
        method="management-api",
    )  # fmt: skip


def scope(*purposes: str, recipients: tuple[str, ...] = (C,), dataset: str = "ds") -> ConsentScope:
    return ConsentScope(frozenset(purposes), frozenset(recipients), dataset)


def test_validity_boundaries_follow_the_clock(clock: ManualClock) -> None:
    start = clock() + timedelta(hours=1)
    end = start + timedelta(days=1)
    r = record(clock, valid_from=start.isoformat(), valid_until=end.isoformat())
    assert not r.covers(scope(DISASTER), clock(), TREE)  # not yet valid
    assert r.covers(scope(DISASTER), start, TREE)  # from is inclusive
    assert r.covers(scope(DISASTER), end - timedelta(microseconds=1), TREE)
    assert not r.covers(scope(DISASTER), end, TREE)  # until is exclusive
    assert r.status(end) is ConsentStatus.EXPIRED
    assert r.status(end - timedelta(microseconds=1)) is ConsentStatus.GIVEN


def test_time_zones_compare_as_instants(clock: ManualClock) -> None:
    end = clock().astimezone(JST) + timedelta(minutes=5)
    r = record(clock, valid_until=end.isoformat())
    assert r.covers(scope(DISASTER), clock() + timedelta(minutes=4), TREE)
    assert not r.covers(scope(DISASTER), clock() + timedelta(minutes=5), TREE)


def test_withdrawal_ends_cover_from_its_instant_on(clock: ManualClock) -> None:
    r = record(clock)
    clock.advance(60)
    withdrawn = r.with_event(StatusEvent(ConsentStatus.WITHDRAWN, clock(), "resident-001"))
    assert withdrawn.covers(scope(DISASTER), clock() - timedelta(seconds=1), TREE)
    assert not withdrawn.covers(scope(DISASTER), clock(), TREE)
    assert [e.status for e in withdrawn.events] == [ConsentStatus.GIVEN, ConsentStatus.WITHDRAWN]
    with pytest.raises(InvalidConsent) as raised:
        withdrawn.with_event(StatusEvent(ConsentStatus.WITHDRAWN, clock()))
    assert raised.value.code == "consent_not_active"


def test_purposes_cover_narrower_ones_only(clock: ManualClock) -> None:
    broad = record(clock)
    assert broad.covers(scope(EVACUATION), clock(), TREE)
    narrow = record(clock, purposes=[EVACUATION])
    assert not narrow.covers(scope(DISASTER), clock(), TREE)
    assert not broad.covers(scope(MARKETING), clock(), TREE)
    assert not broad.covers(scope(DISASTER, MARKETING), clock(), TREE)  # every purpose
    assert not broad.covers(ConsentScope(None, frozenset({C}), "ds"), clock(), TREE)


def test_recipients_by_did_or_role_and_datasets(clock: ManualClock) -> None:
    by_role = record(clock, recipients=["role:municipality"])
    assert by_role.recipients == (ROLE + "municipality",)
    assert not by_role.covers(scope(DISASTER), clock(), TREE)
    assert by_role.covers(scope(DISASTER, recipients=(C, ROLE + "municipality")), clock(), TREE)
    assert not record(clock, recipients=["did:web:other"]).covers(scope(DISASTER), clock(), TREE)
    only_ds = record(clock, datasets=["ds"])
    assert only_ds.covers(scope(DISASTER), clock(), TREE)
    assert not only_ds.covers(scope(DISASTER, dataset="other"), clock(), TREE)


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"subject": ""}, "/subject"),
        ({"purposes": []}, "/purposes"),
        ({"recipients": []}, "/recipients"),
        ({"recipients": ["no iri"]}, "/recipients/0"),
        ({"valid_until": "2026-04-02T00:00:00"}, "/valid_until"),
        ({"valid_until": "2026-03-01T00:00:00Z"}, "/valid_until"),
        ({"valid_from": "tomorrow"}, "/valid_from"),
        ({"legal_basis": "Contract"}, "/legal_basis"),
        ({"colour": "red"}, ""),
    ],
)
def test_bad_input_names_the_place(
    clock: ManualClock, fields: dict[str, object], path: str
) -> None:
    with pytest.raises(InvalidConsent) as raised:
        record(clock, **fields)
    assert raised.value.path == path
    assert raised.value.code == "invalid_consent"


def test_jsonld_round_trips_and_uses_dpv_iris(clock: ManualClock) -> None:
    r = record(clock, valid_until=(clock() + timedelta(days=30)).isoformat(), datasets=["urn:ds"])
    clock.advance(10)
    r = r.with_event(StatusEvent(ConsentStatus.WITHDRAWN, clock(), "urn:tsunagu:consent-portal:p"))
    document = r.to_jsonld(at=clock())
    assert from_jsonld(document) == r
    with warnings.catch_warnings():  # rdflib 7's JSON-LD parser uses its deprecated API
        warnings.filterwarnings(
            "ignore", "(ConjunctiveGraph|Dataset.default_context)", DeprecationWarning
        )
        graph = Graph().parse(data=json.dumps(document), format="json-ld")
    node = URIRef("urn:uuid:r1")
    assert (node, RDF.type, URIRef(DPV + "ConsentRecord")) in graph
    assert (node, URIRef(DPV + "hasConsentStatus"), URIRef(DPV + "ConsentWithdrawn")) in graph
    statuses = set(graph.objects(None, URIRef(DPV + "hasConsentStatus")))
    assert URIRef(DPV + "ConsentGiven") in statuses
    purposes = set(graph.objects(None, URIRef(DPV + "hasPurpose")))
    assert purposes == {URIRef(DISASTER)}
    assert list(graph.objects(None, URIRef(DPV + "hasRecipient"))) == [URIRef(C)]


def test_the_agreement_scope_reads_purposes_and_guaranteed_roles() -> None:
    offer = personal_data_under_consent("urn:o", purposes=[EVACUATION]).to_json()
    offer["permission"][0]["constraint"].append(
        {"leftOperand": "role", "operator": "eq", "rightOperand": "municipality"}
    )
    got = agreement_scope(offer, recipient=C, dataset="ds")
    assert got == ConsentScope(frozenset({EVACUATION}), frozenset({C, ROLE + "municipality"}), "ds")
    both = personal_data_under_consent("urn:o", purposes=[EVACUATION, MARKETING]).to_json()
    assert agreement_scope(both, recipient=C, dataset="ds").purposes == {EVACUATION, MARKETING}
    anything = {"@type": "Offer", "@id": "urn:o", "permission": [{"action": "use"}]}
    assert agreement_scope(anything, recipient=C, dataset="ds").purposes is None
    either = {
        "@type": "Offer",
        "@id": "urn:o",
        "permission": [
            {"action": "use", "constraint": [{"leftOperand": "purpose", "operator": "eq",
                                              "rightOperand": {"@id": EVACUATION}}]},
            {"action": "use"},
        ],
    }  # fmt: skip
    assert agreement_scope(either, recipient=C, dataset="ds").purposes is None


def test_times_must_be_aware_in_the_model() -> None:
    with pytest.raises(InvalidConsent):
        new_record(
            {"subject": "s", "purposes": [DISASTER], "recipients": [C]},
            record_id="urn:x", controller="did:web:a", now=datetime(2026, 4, 1),
            by="", method="",
        )  # fmt: skip
    assert datetime(2026, 4, 1, tzinfo=UTC)
