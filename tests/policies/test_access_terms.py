"""The per-access terms (time window, count) the data plane and the audit verifier share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from policies.access_terms import AccessTerms, check_terms, decide_terms, terms_of

AGREED = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
AGREEMENT = {
    "@type": "Agreement",
    "@id": "urn:agreement:1",
    "target": "urn:dataset:1",
    "assigner": "did:web:a",
    "assignee": "did:web:c",
}


def policy(*constraints: dict[str, Any]) -> dict[str, Any]:
    rule: dict[str, Any] = {"action": "use"}
    if constraints:
        rule["constraint"] = list(constraints)
    return {**AGREEMENT, "permission": [rule]}


def test_elapsed_time_places_the_window_at_the_agreement() -> None:
    [terms] = terms_of(
        policy({"leftOperand": "elapsedTime", "operator": "lteq", "rightOperand": "P1D"})
    )
    inside = AGREED + timedelta(hours=23)
    edge = AGREED + timedelta(days=1)
    after = edge + timedelta(microseconds=1)
    assert check_terms(terms, accesses=0, now=inside, agreed_at=AGREED).allowed
    assert check_terms(terms, accesses=0, now=edge, agreed_at=AGREED).allowed  # lteq: inclusive
    late = check_terms(terms, accesses=0, now=after, agreed_at=AGREED)
    assert not late.allowed and late.code == "agreement_expired"


def test_elapsed_time_lt_excludes_its_end_and_gteq_opens_later() -> None:
    [terms] = terms_of(
        policy(
            {"leftOperand": "elapsedTime", "operator": "lt", "rightOperand": "PT2H"},
            {"leftOperand": "elapsedTime", "operator": "gteq", "rightOperand": "PT1H"},
        )
    )
    early = check_terms(terms, accesses=0, now=AGREED + timedelta(minutes=30), agreed_at=AGREED)
    assert early.code == "agreement_not_yet_valid"
    mid = AGREED + timedelta(minutes=90)
    assert check_terms(terms, accesses=0, now=mid, agreed_at=AGREED).allowed
    end = check_terms(terms, accesses=0, now=AGREED + timedelta(hours=2), agreed_at=AGREED)
    assert end.code == "agreement_expired"


def test_a_date_window_and_a_count_limit() -> None:
    [terms] = terms_of(
        policy(
            {"leftOperand": "dateTime", "operator": "lt", "rightOperand": "2026-04-02T00:00:00Z"},
            {"leftOperand": "count", "operator": "lteq", "rightOperand": 2},
        )
    )
    assert terms == AccessTerms(not_after=datetime(2026, 4, 2, tzinfo=UTC), max_accesses=2)
    assert check_terms(terms, accesses=1, now=AGREED).count_limit == 2
    assert check_terms(terms, accesses=2, now=AGREED).code == "access_limit_reached"
    late = datetime(2026, 4, 2, tzinfo=UTC)
    assert check_terms(terms, accesses=0, now=late).code == "agreement_expired"


def test_any_permission_allowing_is_enough_and_none_means_unrestricted() -> None:
    two = {
        **AGREEMENT,
        "permission": [
            {
                "action": "use",
                "constraint": [{"leftOperand": "count", "operator": "lteq", "rightOperand": 1}],
            },
            {
                "action": "use",
                "constraint": [
                    {"leftOperand": "elapsedTime", "operator": "lteq", "rightOperand": "PT1H"}
                ],
            },
        ],
    }
    terms = terms_of(two)
    assert decide_terms(terms, accesses=5, now=AGREED, agreed_at=AGREED).allowed
    later = AGREED + timedelta(hours=2)
    assert decide_terms(terms, accesses=5, now=later, agreed_at=AGREED).code == "agreement_expired"
    assert decide_terms((), accesses=99, now=later).allowed


def test_an_unreadable_elapsed_time_denies() -> None:
    [terms] = terms_of(
        policy({"leftOperand": "elapsedTime", "operator": "lteq", "rightOperand": "soon"})
    )
    assert terms.unreadable
    assert check_terms(terms, accesses=0, now=AGREED, agreed_at=AGREED).code == "agreement_denies"


def test_date_bounds_keep_the_operators_edge() -> None:
    at = "2026-04-01T12:00:00Z"
    edge = datetime(2026, 4, 1, 12, tzinfo=UTC)
    [until] = terms_of(policy({"leftOperand": "dateTime", "operator": "lteq", "rightOperand": at}))
    [before] = terms_of(policy({"leftOperand": "dateTime", "operator": "lt", "rightOperand": at}))
    [after] = terms_of(policy({"leftOperand": "dateTime", "operator": "gt", "rightOperand": at}))
    [since] = terms_of(policy({"leftOperand": "dateTime", "operator": "gteq", "rightOperand": at}))
    assert check_terms(until, accesses=0, now=edge).allowed
    assert not check_terms(before, accesses=0, now=edge).allowed
    assert check_terms(after, accesses=0, now=edge).code == "agreement_not_yet_valid"
    assert check_terms(since, accesses=0, now=edge).allowed
