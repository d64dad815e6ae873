"""BasicDecisionPoint: each supported operand, the logical operators, prohibitions, and the
rule that what it does not understand never grants access."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from policies.decision import BasicDecisionPoint, Decision, DecisionRequest, PolicyDecisionPoint
from policies.odrl import (
    Constraint,
    ConstraintLike,
    LiteralValue,
    LogicalConstraint,
    LogicalOperator,
    Operator,
    Policy,
    Reference,
    RightOperand,
    Rule,
)

NOW = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
CITY = {
    "did": "did:web:c-village.example",
    "legal_name": "C村",
    "role": "municipality",
    "municipality_code": "131016",
    "memberships": ["basin-a", "disaster-council"],
}
PDP: PolicyDecisionPoint = BasicDecisionPoint()


def policy(
    *constraints: ConstraintLike, prohibitions: tuple[Rule, ...] = (), action: str = "use"
) -> Policy:
    return Policy(
        kind="Offer",
        uid="urn:offer:1",
        permissions=(Rule(action, constraints),),
        prohibitions=prohibitions,
    )


def decide(
    left: str, op: Operator, right: RightOperand, requester: dict[str, Any] = CITY, **request: Any
) -> Decision:
    req = DecisionRequest(phase=request.pop("phase", "negotiation"), requester=requester,
                          now=request.pop("now", NOW), **request)  # fmt: skip
    return PDP.decide(policy(Constraint(left, op, right)), req)


CASES: list[tuple[str, Operator, RightOperand, dict[str, Any], bool]] = [
    # role
    ("role", Operator.EQ, "municipality", {}, True),
    ("role", Operator.EQ, "company", {}, False),
    ("role", Operator.NEQ, "company", {}, True),
    ("role", Operator.NEQ, "municipality", {}, False),
    ("role", Operator.IS_ANY_OF, ("company", "municipality"), {}, True),
    ("role", Operator.IS_ANY_OF, ("company", "auditor"), {}, False),
    ("role", Operator.IS_NONE_OF, ("company", "auditor"), {}, True),
    ("role", Operator.IS_NONE_OF, ("company", "municipality"), {}, False),
    ("role", Operator.EQ, Reference("municipality"), {}, True),
    # memberships (and its singular spelling)
    ("memberships", Operator.EQ, "basin-a", {}, True),
    ("membership", Operator.EQ, "basin-b", {}, False),
    ("memberships", Operator.NEQ, "basin-b", {}, True),
    ("memberships", Operator.HAS_PART, ("basin-a", "disaster-council"), {}, True),
    ("memberships", Operator.HAS_PART, ("basin-a", "basin-b"), {}, False),
    ("memberships", Operator.IS_ANY_OF, ("basin-b", "disaster-council"), {}, True),
    ("memberships", Operator.IS_ANY_OF, ("basin-b", "basin-c"), {}, False),
    ("memberships", Operator.IS_NONE_OF, ("basin-b", "basin-c"), {}, True),
    ("memberships", Operator.IS_NONE_OF, ("basin-a",), {}, False),
    # municipalityCode: 5- and 6-digit forms name the same municipality
    ("municipalityCode", Operator.EQ, "131016", {}, True),
    ("municipalityCode", Operator.EQ, "13101", {}, True),
    ("municipalityCode", Operator.EQ, "131041", {}, False),
    ("municipalityCode", Operator.NEQ, "131041", {}, True),
    ("municipalityCode", Operator.IS_ANY_OF, ("131041", "13101"), {}, True),
    ("municipalityCode", Operator.IS_NONE_OF, ("131041", "011002"), {}, True),
    ("municipalityCode", Operator.IS_PART_OF, "13", {}, True),  # Tokyo
    ("municipalityCode", Operator.IS_PART_OF, "130001", {}, True),  # Tokyo, 6-digit prefecture code
    ("municipalityCode", Operator.IS_PART_OF, ("01", "27"), {}, False),
    ("municipalityCode", Operator.IS_PART_OF, ("011002", "131016"), {}, True),
    # dateTime compares the decision time
    ("dateTime", Operator.LT, "2026-04-01T09:00:01Z", {}, True),
    ("dateTime", Operator.LT, "2026-04-01T09:00:00Z", {}, False),
    ("dateTime", Operator.LTEQ, "2026-04-01T09:00:00Z", {}, True),
    ("dateTime", Operator.LTEQ, "2026-04-01T18:00:00+09:00", {}, True),
    ("dateTime", Operator.GT, "2026-04-01T17:59:59+09:00", {}, True),
    ("dateTime", Operator.GTEQ, "2026-04-01T09:00:01Z", {}, False),
    ("dateTime", Operator.LTEQ, "2023-12-31T06:00Z", {}, False),  # the spec example's spelling
    (
        "dateTime",
        Operator.LT,
        LiteralValue("2027-01-01T00:00:00Z", "http://www.w3.org/2001/XMLSchema#dateTime"),
        {},
        True,
    ),  # fmt: skip
    # purpose is what the requester states
    ("purpose", Operator.EQ, "dpv:PublicBenefit", {"purpose": "dpv:PublicBenefit"}, True),
    ("purpose", Operator.EQ, "dpv:PublicBenefit", {"purpose": "marketing"}, False),
    ("purpose", Operator.NEQ, "marketing", {"purpose": "research"}, True),
    (
        "purpose",
        Operator.IS_ANY_OF,
        ("research", "dpv:PublicBenefit"),
        {"purpose": "research"},
        True,
    ),
    ("purpose", Operator.IS_NONE_OF, ("marketing",), {"purpose": "marketing"}, False),
    ("purpose", Operator.EQ, "research", {}, False),  # no purpose stated
]


@pytest.mark.parametrize(("left", "op", "right", "extra", "allowed"), CASES)
def test_supported_operands(
    left: str, op: Operator, right: RightOperand, extra: dict[str, Any], allowed: bool
) -> None:
    decision = decide(left, op, right, **extra)
    assert decision.allowed is allowed
    assert decision.reasons
    assert left in decision.reasons[0]


@pytest.mark.parametrize(
    ("left", "op", "right", "reason"),
    [
        ("spatial", Operator.EQ, "http://example.org/EU", "use 'isPartOf'"),
        ("spatial", Operator.IS_PART_OF, "http://example.org/EU", "no geography"),
        (
            "https://w3id.org/catenax/policy/Membership",
            Operator.EQ,
            "active",
            "is not defined by tsunagu's policy profile",
        ),
        ("role", Operator.GT, "municipality", "operator 'gt' is not supported for 'role'"),
        ("role", Operator.IS_A, "municipality", "operator 'isA' is not supported"),
        ("role", Operator.EQ, ("municipality", "company"), "needs exactly one value"),
        ("memberships", Operator.IS_PART_OF, "basin-a", "not supported"),
        ("municipalityCode", Operator.EQ, "Tokyo", "must be municipality or prefecture codes"),
        ("municipalityCode", Operator.EQ, "13", "only makes sense with 'isPartOf'"),
        ("dateTime", Operator.IS_A, "2026-04-01T09:00:00Z", "operator 'isA' is not supported"),
        ("dateTime", Operator.LT, "2027-01-01", "not a date-time with a time zone"),
        ("dateTime", Operator.LT, "2027-01-01T00:00:00", "it has no time zone"),
        ("dateTime", Operator.LT, "soon", "not a date-time"),
        (
            "dateTime",
            Operator.LT,
            ("2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"),
            "needs exactly one value",
        ),
        (
            "purpose",
            Operator.EQ,
            LiteralValue("5", "http://www.w3.org/2001/XMLSchema#integer"),
            "strings or IRIs",
        ),
    ],
)
def test_what_is_not_understood_denies_with_a_reason(
    left: str, op: Operator, right: RightOperand, reason: str
) -> None:
    decision = decide(left, op, right, purpose="research")
    assert decision.allowed is False
    assert "cannot be evaluated" in decision.reasons[0]
    assert reason in decision.reasons[0]


def test_a_naive_decision_time_is_not_guessed() -> None:
    decision = decide("dateTime", Operator.LT, "2027-01-01T00:00:00Z", now=datetime(2026, 4, 1))
    assert decision.allowed is False
    assert "no UTC offset" in decision.reasons[0]


@pytest.mark.parametrize(
    "requester",
    [{}, {"role": 5}, {"memberships": "basin-a"}, {"municipality_code": "Tokyo"}],
)
def test_missing_or_malformed_claims_deny(requester: dict[str, Any]) -> None:
    for left, op, right in [("role", Operator.NEQ, "company"), ("memberships", Operator.IS_NONE_OF, "x"),
                            ("municipalityCode", Operator.IS_PART_OF, "13")]:  # fmt: skip
        decision = decide(left, op, right, requester=requester)
        assert decision.allowed is False
        assert "fails (no" in decision.reasons[0]


ROLE = Constraint("role", Operator.EQ, "municipality")  # true for CITY
COMPANY = Constraint("role", Operator.EQ, "company")  # false for CITY
UNKNOWN = Constraint("https://example.org/operand/sky", Operator.EQ, "blue")  # undecidable


@pytest.mark.parametrize(
    ("constraint", "allowed"),
    [
        (LogicalConstraint(LogicalOperator.AND, (ROLE, ROLE)), True),
        (LogicalConstraint(LogicalOperator.AND, (ROLE, COMPANY)), False),
        (LogicalConstraint(LogicalOperator.OR, (COMPANY, ROLE)), True),
        (LogicalConstraint(LogicalOperator.OR, (COMPANY, COMPANY)), False),
        (LogicalConstraint(LogicalOperator.XONE, (COMPANY, ROLE)), True),
        (LogicalConstraint(LogicalOperator.XONE, (ROLE, ROLE)), False),
        (LogicalConstraint(LogicalOperator.AND_SEQUENCE, (ROLE, ROLE)), True),
        (LogicalConstraint(LogicalOperator.AND_SEQUENCE, (COMPANY, ROLE)), False),
        (
            LogicalConstraint(
                LogicalOperator.OR, (COMPANY, LogicalConstraint(LogicalOperator.AND, (ROLE, ROLE)))
            ),
            True,
        ),
        # Strict: a rule that contains something not understood grants nothing, even beside a true branch.
        (LogicalConstraint(LogicalOperator.OR, (ROLE, UNKNOWN)), False),
        (LogicalConstraint(LogicalOperator.AND, (COMPANY, UNKNOWN)), False),
    ],
)
def test_logical_constraints(constraint: LogicalConstraint, allowed: bool) -> None:
    decision = PDP.decide(policy(constraint), DecisionRequest("transfer", CITY, NOW))
    assert decision.allowed is allowed


def test_no_constraints_permits() -> None:
    decision = PDP.decide(policy(), DecisionRequest("negotiation", {}, NOW))
    assert decision.allowed
    assert decision.reasons == ("permission 1 (use) is satisfied: no constraints",)
    assert decision.codes() == ("permission_satisfied", "no_constraints")


def test_any_satisfied_permission_grants() -> None:
    two = Policy(kind="Offer", uid="u", permissions=(Rule("use", (COMPANY,)), Rule("use", (ROLE,))))
    decision = PDP.decide(two, DecisionRequest("negotiation", CITY, NOW))
    assert decision.allowed and decision.reasons[0].startswith("permission 2")
    neither = Policy(
        kind="Offer", uid="u", permissions=(Rule("use", (COMPANY,)), Rule("use", (UNKNOWN,)))
    )
    decision = PDP.decide(neither, DecisionRequest("negotiation", CITY, NOW))
    assert not decision.allowed
    assert [r.split(":")[0] for r in decision.reasons] == [
        "permission 1 (use) is not satisfied",
        "permission 2 (use) cannot be evaluated",
    ]


def test_prohibitions() -> None:
    request = DecisionRequest("negotiation", CITY, NOW)
    applies = policy(prohibitions=(Rule("use", (ROLE,)),))
    # Permission and prohibition both apply: ODRL's default conflict strategy voids the policy.
    assert PDP.decide(applies, request).reasons == (
        "a permission and a prohibition both apply and the conflict strategy is 'invalid': "
        "the policy is void",
        "prohibition 1 (use) applies: role eq 'municipality' holds (requester role is 'municipality')",
    )  # fmt: skip
    assert PDP.decide(policy(prohibitions=(Rule("use", (COMPANY,)),)), request).allowed
    unclear = PDP.decide(policy(prohibitions=(Rule("use", (UNKNOWN,)),)), request)
    assert not unclear.allowed and "prohibition 1 (use) cannot be evaluated" in unclear.reasons[0]
    # A prohibition of another action does not stop use; one of `use` stops everything.
    assert PDP.decide(policy(prohibitions=(Rule("distribute"),)), request).allowed
    read = DecisionRequest("negotiation", CITY, NOW, action="read")
    assert not PDP.decide(policy(prohibitions=(Rule("use"),)), read).allowed


def test_actions() -> None:
    only_read = policy(action="read")
    denied = PDP.decide(only_read, DecisionRequest("negotiation", CITY, NOW))
    assert not denied.allowed
    assert denied.reasons == ("no permission covers the action 'use'",)
    assert PDP.decide(only_read, DecisionRequest("negotiation", CITY, NOW, action="read")).allowed
    assert PDP.decide(
        policy(), DecisionRequest("negotiation", CITY, NOW, action="read")
    ).allowed  # use covers read


def test_duties_are_reported_not_enforced() -> None:
    with_duties = Policy(kind="Offer", uid="u", permissions=(Rule("use", (), (Rule("compensate"),)),),
                         obligations=(Rule("delete"),))  # fmt: skip
    decision = PDP.decide(with_duties, DecisionRequest("negotiation", CITY, NOW))
    assert decision.allowed
    assert decision.reasons[1:] == (
        "duty 'compensate' is owed (agreed, not enforced by the decision point)",
        "obligation 'delete' is owed (agreed, not enforced by the decision point)",
    )
    assert decision.duties == (Rule("compensate"), Rule("delete"))


def test_the_spec_examples_spatial_offer_is_refused() -> None:
    example = Policy(
        kind="Offer",
        uid="u",
        permissions=(Rule("use", (Constraint("spatial", Operator.EQ, "_:EU"),)),),
    )
    decision = PDP.decide(example, DecisionRequest("negotiation", CITY, NOW))
    assert not decision.allowed
    assert decision.codes() == ("permission_undecidable", "invalid_value")
    assert decision.reasons[0].startswith("permission 1 (use) cannot be evaluated: spatial eq")


def test_flood_basin_policy() -> None:
    """The reference story: basin municipalities, for disaster response, until the end of FY2026."""
    flood = policy(
        Constraint("role", Operator.EQ, "municipality"),
        Constraint("memberships", Operator.HAS_PART, "basin-a"),
        Constraint(
            "purpose", Operator.IS_ANY_OF, ("dpv:ProtectionOfPublicSecurity", "evacuation-support")
        ),
        Constraint("dateTime", Operator.LT, "2027-04-01T00:00:00+09:00"),
    )
    ask = DecisionRequest("transfer", CITY, NOW, purpose="evacuation-support")
    assert PDP.decide(flood, ask).allowed
    company = {**CITY, "role": "company"}
    refused = PDP.decide(
        flood, DecisionRequest("transfer", company, NOW, purpose="evacuation-support")
    )
    assert (
        not refused.allowed
        and "role eq 'municipality' fails (requester role is 'company')" in refused.reasons[0]
    )
    late = DecisionRequest(
        "transfer", CITY, datetime(2027, 4, 1, tzinfo=UTC), purpose="evacuation-support"
    )
    assert not PDP.decide(flood, late).allowed
