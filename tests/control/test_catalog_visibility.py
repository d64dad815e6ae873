"""Catalogue visibility: offers a requester's identity can never satisfy are hidden, with the
reason; offers failing only on what changes (time, alerts) stay visible."""

from __future__ import annotations

from datetime import UTC, datetime

from connector.policy.visibility import visibility
from policies.alerts import StaticAlertState
from policies.decision import DecisionPoint
from policies.geography import Basin, Geography
from policies.odrl import parse_policy

BASIN = "https://w3id.org/tsunagu/id/basin/tsunagu-river"
NOW = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


def offer(uid: str, *constraints: dict[str, object]) -> object:
    return parse_policy(
        {
            "@type": "Offer",
            "@id": uid,
            "permission": [{"action": "use", "constraint": list(constraints)}],
        }
    )


def test_identity_failures_hide_and_passing_conditions_do_not() -> None:
    pdp = DecisionPoint(
        geography=Geography([Basin(BASIN, "繋川", frozenset({"20432"}))]),
        alerts=StaticAlertState({BASIN: 0}),
    )
    in_basin = offer(
        "urn:basin",
        {"leftOperand": "spatial", "operator": "isPartOf", "rightOperand": {"@id": BASIN}},
    )
    companies = offer(
        "urn:companies", {"leftOperand": "role", "operator": "eq", "rightOperand": "company"}
    )
    later = offer(
        "urn:later",
        {
            "leftOperand": "dateTime",
            "operator": "gteq",
            "rightOperand": "2027-01-01T00:00:00+09:00",
        },
    )
    alert = offer(
        "urn:alert",
        {"leftOperand": "event", "operator": "eq",
         "rightOperand": {"@type": "FloodAlert", "alertLevel": 3, "area": {"@id": BASIN}}},
    )  # fmt: skip
    village = {"did": "did:web:c", "role": "municipality", "municipality_code": "204323"}
    shown = {
        v.offer.uid: v for v in visibility(pdp, [in_basin, companies, later, alert], village, NOW)
    }  # type: ignore[list-item]
    assert shown["urn:basin"].visible and not shown["urn:basin"].reasons
    assert not shown["urn:companies"].visible and "role eq" in shown["urn:companies"].reasons[0]
    assert shown["urn:later"].visible and shown["urn:later"].reasons  # may hold later
    assert shown["urn:alert"].visible
    outsider = {"did": "did:web:tokyo", "role": "municipality", "municipality_code": "131016"}
    assert not visibility(pdp, [in_basin], outsider, NOW)[0].visible  # type: ignore[list-item]
