"""ODRL rule semantics: action hierarchy, prohibitions as restrictions, conflict strategies,
duties and obligations owed, logical constraints."""

from __future__ import annotations

from typing import Any

import pytest
from policy_support import CITY, NOW, c, offer

from policies.decision import BasicDecisionPoint, DecisionRequest
from policies.odrl import Rule, parse_policy
from policies.profile import covers

PDP = BasicDecisionPoint()
ROLE = c("role", "eq", "municipality")  # true for CITY
COMPANY = c("role", "eq", "company")  # false for CITY
UNKNOWN = c("urn:operand:sky", "eq", "blue")  # undecidable


def decide(data: dict[str, Any], action: str = "use") -> Any:
    return PDP.decide(parse_policy(data), DecisionRequest("negotiation", CITY, NOW, action=action))


def test_the_action_hierarchy() -> None:
    for action in ("read", "distribute", "aggregate", "anonymize"):
        assert covers("use", action) and not covers(action, "use")
    assert not covers("read", "distribute")
    assert decide(offer(), "aggregate").allowed
    assert not decide(offer(action="read"), "distribute").allowed


@pytest.mark.parametrize(
    ("strategy", "allowed", "codes"),
    [
        ("perm", True, ("permission_satisfied", "prohibition_overridden")),
        ("prohibit", False, ("prohibition_applies",)),
        ("invalid", False, ("policy_void_conflict", "prohibition_applies")),
        (None, False, ("policy_void_conflict", "prohibition_applies")),  # ODRL's default
    ],
)
def test_conflict_strategies(strategy: str | None, allowed: bool, codes: tuple[str, ...]) -> None:
    data = {**offer(ROLE), "prohibition": [{"action": "read", "constraint": [ROLE]}]}
    if strategy:
        data["conflict"] = strategy
    decision = decide(data, "read")
    assert decision.allowed is allowed
    assert tuple(r.code for r in decision.details) == codes


def test_no_conflict_when_the_prohibition_does_not_apply() -> None:
    data = {**offer(ROLE), "prohibition": [{"action": "read", "constraint": [COMPANY]}]}
    assert decide(data, "read").allowed


def test_an_undecidable_prohibition_denies_unless_perm_lets_the_permission_win() -> None:
    data = {**offer(ROLE), "prohibition": [{"action": "use", "constraint": [UNKNOWN]}]}
    assert decide(data).codes()[:1] == ("prohibition_undecidable",)
    assert not decide(data).allowed
    assert decide({**data, "conflict": "perm"}).allowed


def test_a_prohibition_of_a_narrower_action_is_a_restriction_shown_with_the_decision() -> None:
    data = {**offer(ROLE), "prohibition": [{"action": "distribute"}]}
    decision = decide(data)
    assert decision.allowed
    assert decision.restrictions == (Rule("distribute"),)
    assert "'distribute' is prohibited" in decision.reasons[-1]
    assert not decide(data, "distribute").allowed  # asked for it: denied
    assert decide(data, "read").restrictions == ()


def test_duties_and_obligations_are_owed() -> None:
    data = {
        **offer(ROLE),
        "obligation": [{"action": "delete", "constraint": [c("elapsedTime", "gteq", "P30D")]}],
    }
    data["permission"][0]["duty"] = [{"action": "inform"}, {"action": "attribute"}]
    decision = decide(data)
    assert decision.allowed
    assert [d.action for d in decision.duties] == ["inform", "attribute", "delete"]
    assert decision.codes()[-3:] == ("duty_owed", "duty_owed", "obligation_owed")
    assert decision.details[-1].path == "/obligation/0"
    assert "elapsedTime gteq 'P30D'" in decision.reasons[-1]


@pytest.mark.parametrize(
    ("constraint", "allowed"),
    [
        ({"and": [ROLE, ROLE]}, True),
        ({"and": [ROLE, COMPANY]}, False),
        ({"or": [COMPANY, ROLE]}, True),
        ({"or": [COMPANY, COMPANY]}, False),
        ({"xone": [COMPANY, ROLE]}, True),
        ({"xone": [ROLE, ROLE]}, False),
        ({"xone": [COMPANY, COMPANY]}, False),
        ({"andSequence": [ROLE, ROLE]}, True),
        ({"andSequence": [COMPANY, ROLE]}, False),
        ({"or": [COMPANY, {"and": [ROLE, {"xone": [ROLE, COMPANY]}]}]}, True),
        ({"or": [ROLE, UNKNOWN]}, False),  # undecidable never grants, even beside a true branch
        ({"and": [COMPANY, UNKNOWN]}, False),
    ],
)
def test_logical_constraints(constraint: dict[str, Any], allowed: bool) -> None:
    assert decide(offer(constraint)).allowed is allowed


def test_the_first_satisfied_permission_grants_and_failures_are_all_listed() -> None:
    data = {"@id": "urn:p", "permission": [
        {"action": "use", "constraint": [COMPANY]},
        {"action": "use", "constraint": [UNKNOWN]},
        {"action": "use", "constraint": [ROLE]},
    ]}  # fmt: skip
    decision = decide(data)
    assert decision.allowed and decision.details[0].path == "/permission/2"
    data["permission"].pop()
    assert decide(data).codes()[::2] == ("permission_not_satisfied", "permission_undecidable")
