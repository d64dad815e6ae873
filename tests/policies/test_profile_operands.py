"""Every operand of the profile with every operator it takes, at the boundaries, and the same
decision whether the policy is spelled compactly or with full IRIs."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from policy_support import BASIN, CITY, NOW, OTHER_BASIN, STATION, c, full_iri, offer

from policies.alerts import StaticAlertState
from policies.decision import DecisionPoint, DecisionRequest, Payment
from policies.geography import Basin, Geography
from policies.odrl import parse_policy
from policies.operands import OPERANDS
from policies.profile import check_policy, operands
from policies.purposes import PurposeTree

PURPOSE = "https://w3id.org/tsunagu/vocab/purpose/"
GEO = Geography(
    [
        Basin(BASIN, "繋川", frozenset({"08290", "08590"}), frozenset({STATION})),
        Basin(OTHER_BASIN, "other", frozenset({"13101"})),
    ]
)
ALERTS = StaticAlertState({BASIN: 3, STATION: 4, OTHER_BASIN: 0})
PDP = DecisionPoint(geography=GEO, alerts=ALERTS)
AGREED = NOW - timedelta(days=30)
T = "2026-04-01T09:00:00Z"  # == NOW
DAY = {"@value": "P1D", "@type": "xsd:duration"}


def alert(level: int, area: str = BASIN) -> dict[str, Any]:
    return {"@type": "FloodAlert", "alertLevel": level, "area": {"@id": area}}


def request(**overrides: Any) -> DecisionRequest:
    base: dict[str, Any] = {"phase": "transfer", "requester": CITY, "now": NOW,
                            "purpose": PURPOSE + "evacuation-decision-support",
                            "agreed_at": AGREED, "uses": 2,
                            "last_use": NOW - timedelta(hours=25),
                            "payment": Payment(Decimal("5000"), "JPY")}  # fmt: skip
    base.update(overrides)
    return DecisionRequest(**base)


# (constraint, request overrides, allowed)
CASES: list[tuple[dict[str, Any], dict[str, Any], bool]] = [
    # spatial: the verified municipality, in a set or lying in a region
    (c("spatial", "eq", "08290"), {}, True),
    (c("spatial", "eq", {"@id": "http://data.e-stat.go.jp/lod/sac/C08290"}), {}, True),
    (c("spatial", "eq", "082902"), {}, True),
    (c("spatial", "neq", "13101"), {}, True),
    (c("spatial", "neq", "08290"), {}, False),
    (c("spatial", "isAnyOf", ["13101", "08590"]), {}, False),
    (c("spatial", "isAnyOf", ["13101", "sac:C08290"]), {}, True),
    (c("spatial", "isNoneOf", ["13101"]), {}, True),
    (c("spatial", "isNoneOf", ["08290", "13101"]), {}, False),
    (c("spatial", "isPartOf", {"@id": BASIN}), {}, True),
    (c("spatial", "isPartOf", {"@id": OTHER_BASIN}), {}, False),
    (c("spatial", "isPartOf", "08"), {}, True),
    (c("spatial", "isPartOf", ["13", {"@id": OTHER_BASIN}]), {}, False),
    (c("spatial", "isPartOf", {"@id": BASIN}), {"requester": {**CITY, "municipality_code": "131016"}}, False),
    (c("spatial", "isPartOf", {"@id": BASIN}), {"requester": {**CITY, "municipality_code": "082901"}}, False),  # bad check digit
    # dateTime windows, at the boundary instant
    (c("dateTime", "lt", T), {}, False),
    (c("dateTime", "lteq", T), {}, True),
    (c("dateTime", "gt", T), {}, False),
    (c("dateTime", "gteq", T), {}, True),
    (c("dateTime", "eq", T), {}, True),
    (c("dateTime", "neq", T), {}, False),
    (c("dateTime", "lt", "2026-04-01T18:00:00+09:00"), {}, False),  # the same instant in JST
    (c("dateTime", "lt", {"@value": "2026-04-01T18:00:01+09:00", "@type": "xsd:dateTime"}), {}, True),
    (c("dateTime", "gteq", T), {"now": NOW - timedelta(microseconds=1)}, False),
    # elapsedTime since the agreement (30 days ago), calendar months included
    (c("elapsedTime", "lteq", "P30D"), {}, True),
    (c("elapsedTime", "lt", "P30D"), {}, False),
    (c("elapsedTime", "gt", "P29DT23H59M59S"), {}, True),
    (c("elapsedTime", "gteq", "P31D"), {}, False),
    (c("elapsedTime", "eq", "P30D"), {}, True),
    (c("elapsedTime", "neq", "P30D"), {}, False),
    (c("elapsedTime", "lteq", "P1M"), {"agreed_at": NOW.replace(month=3)}, True),  # 1 Mar + 1 month
    (c("elapsedTime", "lt", "P1M"), {"agreed_at": NOW.replace(month=3)}, False),
    (c("elapsedTime", "lteq", {"@value": "PT720H", "@type": "xsd:duration"}), {}, True),
    (c("elapsedTime", "lteq", "P1D"), {"phase": "negotiation", "agreed_at": None}, True),
    (c("elapsedTime", "lteq", "P1D"), {"agreed_at": None}, False),  # transfer: start unknown
    # timeInterval: a recurring period between uses
    (c("timeInterval", "eq", DAY), {}, True),
    (c("timeInterval", "gteq", DAY), {"last_use": NOW - timedelta(hours=23)}, False),
    (c("timeInterval", "gteq", DAY), {"last_use": NOW - timedelta(days=1)}, True),
    (c("timeInterval", "gt", DAY), {"last_use": NOW - timedelta(days=1)}, False),
    (c("timeInterval", "eq", DAY), {"last_use": None}, True),
    # event: a flood alert of level N or higher in force (basin at 3, its station at 4)
    (c("event", "eq", alert(3)), {}, True),
    (c("event", "eq", alert(4)), {}, False),
    (c("event", "eq", alert(4, STATION)), {}, True),
    (c("event", "neq", alert(4)), {}, True),
    (c("event", "neq", alert(2)), {}, False),
    (c("event", "isAnyOf", [alert(5), alert(4, STATION)]), {}, True),
    (c("event", "isNoneOf", [alert(5), alert(1, OTHER_BASIN)]), {}, True),
    (c("event", "isNoneOf", [alert(5), alert(3)]), {}, False),
    # recipient: the requester's DID
    (c("recipient", "eq", {"@id": "did:web:c-village.example"}), {}, True),
    (c("recipient", "eq", "did:web:other.example"), {}, False),
    (c("recipient", "neq", "did:web:other.example"), {}, True),
    (c("recipient", "isAnyOf", ["did:web:a.example", "did:web:c-village.example"]), {}, True),
    (c("recipient", "isNoneOf", ["did:web:c-village.example"]), {}, False),
    # credential claims
    (c("role", "eq", "municipality"), {}, True),
    (c("role", "neq", "municipality"), {}, False),
    (c("role", "isAnyOf", ["company", "municipality"]), {}, True),
    (c("role", "isNoneOf", ["company"]), {}, True),
    (c("membership", "eq", "urn:council:basin"), {}, True),
    (c("membership", "neq", "urn:council:basin"), {}, False),
    (c("membership", "hasPart", ["urn:council:basin", "urn:council:disaster"]), {}, True),
    (c("membership", "isAllOf", ["urn:council:basin", "urn:council:other"]), {}, False),
    (c("membership", "isAnyOf", ["urn:council:other", "urn:council:disaster"]), {}, True),
    (c("membership", "isNoneOf", ["urn:council:disaster"]), {}, False),
    (c("memberships", "isNoneOf", ["urn:council:other"]), {}, True),
    (c("municipalityCode", "eq", "08290"), {}, True),
    (c("municipalityCode", "neq", "08290"), {}, False),
    (c("municipalityCode", "isAnyOf", ["131016", "082902"]), {}, True),
    (c("municipalityCode", "isNoneOf", ["08290"]), {}, False),
    (c("municipalityCode", "isPartOf", "08"), {}, True),
    # payAmount with currency
    (c("payAmount", "eq", {"@value": "5000", "@type": "xsd:decimal"}, unit="JPY"), {}, True),
    (c("payAmount", "neq", "5000", unit="JPY"), {}, False),
    (c("payAmount", "gteq", "5000.00", unit="JPY"), {}, True),
    (c("payAmount", "gt", "5000", unit="JPY"), {}, False),
    (c("payAmount", "lt", "5000.01", unit="JPY"), {}, True),
    (c("payAmount", "lteq", "4999", unit="JPY"), {}, False),
    (c("payAmount", "eq", "5000", unit="EUR"), {}, False),  # another currency never matches
    (c("payAmount", "eq", "5000", unit="JPY"), {"payment": None}, False),
    # count: accesses so far (2) against the limit
    (c("count", "lteq", 3), {}, True),
    (c("count", "lteq", 2), {}, False),
    (c("count", "lt", 3), {}, False),
    (c("count", "eq", 3), {}, True),
    # purpose, with isA over the vocabulary's hierarchy
    (c("purpose", "eq", "purpose:evacuation-decision-support"), {}, True),
    (c("purpose", "neq", {"@id": PURPOSE + "evacuation-decision-support"}), {}, False),
    (c("purpose", "isAnyOf", ["dpv:PublicBenefit", PURPOSE + "evacuation-decision-support"]), {}, True),
    (c("purpose", "isNoneOf", ["urn:purpose:marketing"]), {}, True),
    (c("purpose", "isA", {"@id": PURPOSE + "disaster-response"}), {}, True),
    (c("purpose", "isA", {"@id": PURPOSE + "disaster-response"}), {"purpose": "urn:purpose:marketing"}, False),
    (c("purpose", "isA", {"@id": PURPOSE + "evacuation-decision-support"}), {"purpose": PURPOSE + "disaster-response"}, False),
]  # fmt: skip


@pytest.mark.parametrize(("constraint", "overrides", "allowed"), CASES)
def test_operand_and_operator(constraint: dict[str, Any], overrides: dict[str, Any], allowed: bool) -> None:  # fmt: skip
    data = offer(constraint)
    check_policy(data, geography=GEO)  # every case is a policy the profile accepts
    decision = PDP.decide(parse_policy(data), request(**overrides))
    assert decision.allowed is allowed, decision.reasons
    assert constraint["leftOperand"] in decision.reasons[0]


@pytest.mark.parametrize(("constraint", "overrides", "allowed"), CASES)
def test_full_iri_spelling_decides_the_same(constraint: dict[str, Any], overrides: dict[str, Any], allowed: bool) -> None:  # fmt: skip
    compact = parse_policy(offer(constraint))
    expanded = parse_policy(full_iri(offer(constraint)))
    assert expanded == compact
    decision = PDP.decide(expanded, request(**overrides))
    assert decision.allowed is allowed
    assert decision == PDP.decide(compact, request(**overrides))


def test_every_operand_and_operator_is_covered() -> None:
    seen = {(case[0]["leftOperand"], case[0]["operator"]) for case in CASES}
    for operand in operands():
        for operator in operand.operators:
            if operand.name == "memberships" and operator.value not in ("isNoneOf",):
                continue  # an alias of membership, which covers every operator
            assert (operand.name, operator.value) in seen, (operand.name, operator.value)
    odrl = {"eq", "neq", "lt", "lteq", "gt", "gteq", "isA", "hasPart", "isPartOf", "isAllOf",
            "isAnyOf", "isNoneOf"}  # fmt: skip
    assert odrl == {operator for _, operator in seen}


@pytest.mark.parametrize(
    ("constraint", "env", "code"),
    [
        (c("spatial", "isPartOf", {"@id": BASIN}), {"alerts": ALERTS}, "no_geography"),
        (c("event", "eq", alert(3)), {"geography": GEO}, "no_alert_state"),
        (c("event", "eq", alert(3, "urn:area:unknown")), {"alerts": ALERTS}, "unknown_area"),
    ],
)
def test_what_the_decision_point_is_not_given_denies(constraint: dict[str, Any], env: dict[str, Any], code: str) -> None:  # fmt: skip
    decision = DecisionPoint(**env).decide(parse_policy(offer(constraint)), request())
    assert decision.allowed is False
    assert code in decision.codes()


def test_a_naive_decision_time_is_not_guessed() -> None:
    decision = PDP.decide(
        parse_policy(offer(c("dateTime", "lt", T))), request(now=NOW.replace(tzinfo=None))
    )
    assert not decision.allowed and "naive_now" in decision.codes()


def test_an_injected_purpose_tree_is_used() -> None:
    tree = PurposeTree({"urn:p:child": ["urn:p:parent"], "urn:p:parent": ["urn:p:root"]})
    pdp = DecisionPoint(purposes=tree)
    policy = parse_policy(offer(c("purpose", "isA", {"@id": "urn:p:root"})))
    assert pdp.decide(policy, request(purpose="urn:p:child")).allowed
    assert not pdp.decide(policy, request(purpose="urn:p:other")).allowed


def test_the_operand_table_has_what_the_profile_documents() -> None:
    assert {o.name for o in operands()} == {*OPERANDS, "count"}
