"""Counter-offers against offers (narrower is acceptable, wider refused with the reason),
explanations in both languages, templates, geography and alert state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from policy_support import BASIN, CITY, NOW, STATION, c, offer

from policies.alerts import StaticAlertState, alert_state_from
from policies.comparison import compare_policies
from policies.decision import DecisionPoint, DecisionRequest, Payment
from policies.explain import explain, explain_comparison
from policies.geography import Geography
from policies.odrl import parse_policy
from policies.profile import check_policy
from policies.templates import (
    commercial_contract,
    disaster_response,
    open_data,
    personal_data_under_consent,
)
from vocab.stations import load_stations

PURPOSE = "https://w3id.org/tsunagu/vocab/purpose/"


def compare(offered: dict[str, Any], countered: dict[str, Any]) -> Any:
    return compare_policies(parse_policy(offered), parse_policy(countered))


@pytest.mark.parametrize(
    ("offered", "countered", "acceptable"),
    [
        (offer(c("role", "eq", "municipality")), offer(c("role", "eq", "municipality")), True),
        (offer(c("role", "isAnyOf", ["a", "b"])), offer(c("role", "eq", "a")), True),
        (offer(c("role", "eq", "a")), offer(c("role", "isAnyOf", ["a", "b"])), False),
        (offer(c("role", "eq", "a")), offer(), False),
        (offer(), offer(c("role", "eq", "a")), True),
        (offer(c("role", "isNoneOf", ["x"])), offer(c("role", "isNoneOf", ["x", "y"])), True),
        (offer(c("role", "isNoneOf", ["x"])), offer(c("role", "eq", "a")), True),
        (offer(c("membership", "hasPart", ["m1"])), offer(c("membership", "hasPart", ["m1", "m2"])), True),
        (offer(c("dateTime", "lt", "2027-01-01T00:00:00Z")), offer(c("dateTime", "lt", "2026-12-01T00:00:00Z")), True),
        (offer(c("dateTime", "lt", "2027-01-01T00:00:00Z")), offer(c("dateTime", "lteq", "2027-01-01T00:00:00Z")), False),
        (offer(c("dateTime", "lteq", "2027-01-01T00:00:00Z")), offer(c("dateTime", "lt", "2027-01-01T00:00:00Z")), True),
        (offer(c("dateTime", "gteq", "2026-04-01T00:00:00Z")), offer(c("dateTime", "lt", "2027-01-01T00:00:00Z")), False),
        (offer(c("elapsedTime", "lteq", "P90D")), offer(c("elapsedTime", "lteq", "P30D")), True),
        (offer(c("elapsedTime", "lteq", "P30D")), offer(c("elapsedTime", "lteq", "P1M")), False),  # incomparable
        (offer(c("count", "lteq", 10000)), offer(c("count", "lt", 100)), True),
        (offer(c("count", "lteq", 100)), offer(c("count", "lteq", 101)), False),
        (offer(c("payAmount", "gteq", "5000", unit="JPY")), offer(c("payAmount", "eq", "6000", unit="JPY")), True),
        (offer(c("payAmount", "gteq", "5000", unit="JPY")), offer(c("payAmount", "eq", "6000", unit="EUR")), False),
        (offer(c("purpose", "isA", PURPOSE + "disaster-response")),
         offer(c("purpose", "eq", PURPOSE + "evacuation-decision-support")), True),
        (offer(c("purpose", "isA", PURPOSE + "evacuation-decision-support")),
         offer(c("purpose", "isA", PURPOSE + "disaster-response")), False),
        (offer(c("spatial", "isPartOf", "08")), offer(c("spatial", "eq", "08290")), True),
        (offer(c("event", "eq", {"@type": "FloodAlert", "alertLevel": 3, "area": {"@id": BASIN}})),
         offer(c("event", "eq", {"@type": "FloodAlert", "alertLevel": 4, "area": {"@id": BASIN}})), True),
        (offer(c("event", "eq", {"@type": "FloodAlert", "alertLevel": 3, "area": {"@id": BASIN}})),
         offer(c("event", "eq", {"@type": "FloodAlert", "alertLevel": 2, "area": {"@id": BASIN}})), False),
        (offer({"or": [c("role", "eq", "a"), c("role", "eq", "b")]}), offer(c("role", "eq", "b")), True),
        (offer(c("role", "eq", "a"), c("purpose", "eq", "p")), offer({"and": [c("purpose", "eq", "p"), c("role", "eq", "a")]}), True),
        (offer(action="read"), offer(action="use"), False),
        (offer(action="use"), offer(action="read"), True),
    ],
)  # fmt: skip
def test_counter_offers(
    offered: dict[str, Any], countered: dict[str, Any], acceptable: bool
) -> None:
    result = compare(offered, countered)
    assert result.acceptable is acceptable, explain_comparison(result)
    assert result.code == ("narrower_or_equal" if acceptable else "wider")


def test_a_wider_counter_offer_says_what_it_drops() -> None:
    offered = {**offer(c("role", "eq", "municipality")), "prohibition": [{"action": "distribute"}],
               "obligation": [{"action": "delete"}]}  # fmt: skip
    offered["permission"][0]["duty"] = [{"action": "attribute"}]
    countered = {**offer(), "conflict": "perm"}
    result = compare(offered, countered)
    assert not result.acceptable
    codes = result.reasons[0].codes()
    for code in ("permission_wider", "constraint_dropped", "duty_dropped", "prohibition_dropped",
                 "obligation_dropped", "conflict_relaxed"):  # fmt: skip
        assert code in codes
    text = explain_comparison(result)
    assert "role eq 'municipality'" in text and "distribute" in text
    assert "受け入れられません" in explain_comparison(result, "ja")
    keeps = {**offered, "conflict": "prohibit"}
    keeps["permission"] = [{"action": "read", "constraint": [c("role", "eq", "municipality")],
                            "duty": [{"action": "attribute"}, {"action": "inform"}]}]  # fmt: skip
    assert compare(offered, keeps).acceptable


def test_explanations_in_both_languages() -> None:
    policy = parse_policy({**offer(c("purpose", "isA", PURPOSE + "disaster-response"), c("count", "lteq", 3)),
                           "prohibition": [{"action": "distribute"}]})  # fmt: skip
    pdp = DecisionPoint()
    refused = pdp.decide(policy, DecisionRequest("negotiation", CITY, NOW, purpose="urn:marketing"))
    english, japanese = explain(refused), explain(refused, "ja")
    assert english.splitlines()[0] == "denied"
    assert "permission 1 (use) is not satisfied" in english
    assert "[/permission/0/constraint/0]" in english
    assert japanese.splitlines()[0] == "拒否されます"
    assert "許可 1（use）を満たしません" in japanese
    assert "申告された目的" in japanese
    agreed = pdp.decide(
        policy, DecisionRequest("negotiation", CITY, NOW, purpose=PURPOSE + "disaster-response")
    )
    assert "上限 3 回" in explain(agreed, "ja") and "「distribute」は禁止" in explain(agreed, "ja")
    undecidable = pdp.decide(
        parse_policy(offer(c("urn:x", "eq", "y"))), DecisionRequest("negotiation", CITY, NOW)
    )
    assert "プロファイルにない左オペランド" in explain(undecidable, "ja")
    with pytest.raises(ValueError):
        explain(refused, "fr")


GEO = Geography.from_stations(
    load_stations([Path("examples/vocab/a-city-stations.ttl"), Path("examples/vocab/b-town-stations.ttl")]),
    {"繋川": BASIN},
    members={BASIN: ["204323"]},  # C村, downstream, without a station in the examples
)  # fmt: skip


def test_basins_come_from_the_vocabularys_stations() -> None:
    basin = GEO.basin(BASIN)
    assert basin is not None
    assert basin.municipalities == {"08290", "08590", "20432"}
    assert STATION in basin.stations and GEO.basin_of_station(STATION) is basin


def test_disaster_response_template_only_during_an_alert() -> None:
    policy = disaster_response("urn:offer:dr", basin=BASIN, alert_level=3)
    assert check_policy(policy.to_json(), geography=GEO) == policy
    village = {**CITY, "municipality_code": "204323"}
    ask = DecisionRequest(
        "negotiation", village, NOW, purpose=PURPOSE + "evacuation-decision-support"
    )
    before = DecisionPoint(geography=GEO, alerts=StaticAlertState({BASIN: 1}))
    during = DecisionPoint(geography=GEO, alerts=StaticAlertState({BASIN: 3}))
    assert not before.decide(policy, ask).allowed
    assert during.decide(policy, ask).allowed
    assert during.decide(policy, ask).restrictions  # no onward transfer, shown
    marketing = DecisionRequest("negotiation", village, NOW, purpose="urn:marketing")
    assert not during.decide(policy, marketing).allowed
    elsewhere = DecisionRequest("negotiation", {**village, "municipality_code": "131016"}, NOW,
                                purpose=PURPOSE + "disaster-response")  # fmt: skip
    assert not during.decide(policy, elsewhere).allowed


def test_commercial_contract_template() -> None:
    start = datetime(2026, 4, 1, tzinfo=UTC)
    policy = commercial_contract("urn:offer:co", participant="did:web:co.example", start=start,
                                 end=start + timedelta(days=90), requests=3, price=50000)  # fmt: skip
    assert check_policy(policy.to_json()) == policy
    company = {"did": "did:web:co.example", "role": "company"}
    pdp = DecisionPoint()

    def read(uses: int, at: datetime = NOW, who: dict[str, Any] = company) -> bool:
        return pdp.decide(
            policy, DecisionRequest("access", who, at, action="read", uses=uses)
        ).allowed

    assert read(2) and not read(3)  # the 4th read is refused
    assert not read(0, start + timedelta(days=90))
    assert not read(0, who={"did": "did:web:other.example"})
    decision = pdp.decide(policy, DecisionRequest("negotiation", company, NOW))
    assert [d.action for d in decision.duties] == ["compensate"]
    assert (
        "payAmount eq '50000'^^http://www.w3.org/2001/XMLSchema#decimal JPY" in decision.reasons[1]
    )
    assert not pdp.decide(
        policy, DecisionRequest("access", company, NOW, action="distribute", uses=0)
    ).allowed
    with pytest.raises(Exception, match="time zone"):
        commercial_contract("u", participant="d", start=start.replace(tzinfo=None), end=start,
                            requests=1, price=1)  # fmt: skip


def test_open_data_and_personal_data_templates() -> None:
    pdp = DecisionPoint()
    free = open_data("urn:offer:open")
    assert check_policy(free.to_json()) == free
    anyone = pdp.decide(free, DecisionRequest("negotiation", {}, NOW, action="distribute"))
    assert anyone.allowed and [d.action for d in anyone.duties] == ["attribute"]
    personal = personal_data_under_consent(
        "urn:offer:pd", purposes=[PURPOSE + "evacuation-decision-support"], recipients=[CITY["did"]]
    )
    assert check_policy(personal.to_json()) == personal
    ask = DecisionRequest("negotiation", CITY, NOW, purpose=PURPOSE + "evacuation-decision-support")
    assert pdp.decide(personal, ask).allowed
    assert [d.action for d in pdp.decide(personal, ask).duties] == ["obtainConsent"]
    assert not pdp.decide(
        personal, DecisionRequest("negotiation", CITY, NOW, purpose="urn:marketing")
    ).allowed


def test_alert_state_from_classified_readings() -> None:
    from types import SimpleNamespace

    stations = load_stations(
        [Path("examples/vocab/a-city-stations.ttl"), Path("examples/vocab/b-town-stations.ttl")]
    )
    geography = Geography.from_stations(stations, {"繋川": BASIN})
    assert alert_state_from([], geography).alert_level(BASIN, NOW) == 0
    assert alert_state_from([], geography).alert_level("urn:elsewhere", NOW) is None

    def reading(station: str, minutes: int, level: int | None) -> Any:  # a Classification's shape
        return SimpleNamespace(
            station=stations[station],
            observation=SimpleNamespace(result_time=NOW + timedelta(minutes=minutes)),
            alert_level=None if level is None else SimpleNamespace(level=level),
        )

    other = next(s for s in stations if s != STATION)
    state = alert_state_from(
        [reading(STATION, 0, 4), reading(STATION, 10, 2), reading(other, 5, 3)], geography
    )
    assert state.alert_level(STATION, NOW) == 2  # the latest reading counts
    assert state.alert_level(other, NOW) == 3
    assert state.alert_level(BASIN, NOW) == 3  # the basin is at its highest station


def test_payment_in_requests() -> None:
    policy = parse_policy(offer(c("payAmount", "gteq", "100", unit="JPY")))
    pdp = DecisionPoint()
    paid = DecisionRequest("negotiation", CITY, NOW, payment=Payment(Decimal("100"), "JPY"))
    assert pdp.decide(policy, paid).allowed
