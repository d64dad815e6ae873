"""`count`: an access limit the decision point accepts at negotiation and the data plane counts.

Both read it through `policies.usage.access_limit`; the agreement between the two (what the
decision point accepts is what the data plane enforces) is checked in
tests/dataplane/test_units.py against the data plane's own reading.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from policies.decision import BasicDecisionPoint, DecisionRequest
from policies.errors import PolicyError
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
    parse_policy,
)
from policies.usage import access_limit

NOW = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
XSD = "http://www.w3.org/2001/XMLSchema#"
PDP = BasicDecisionPoint()
ROLE = Constraint("role", Operator.EQ, "municipality")
CITY = {"role": "municipality"}


def offer(*constraints: ConstraintLike, prohibitions: tuple[Rule, ...] = ()) -> Policy:
    return Policy(
        kind="Offer",
        uid="urn:offer:count",
        permissions=(Rule("use", constraints),),
        prohibitions=prohibitions,
    )


def negotiate(policy: Policy, uses: int | None = None) -> tuple[bool, str]:
    decision = PDP.decide(policy, DecisionRequest("negotiation", CITY, NOW, uses=uses))
    return decision.allowed, " ".join(decision.reasons)


@pytest.mark.parametrize(
    ("op", "right", "limit"),
    [
        (Operator.LTEQ, LiteralValue("5", XSD + "integer"), 5),  # JSON 5, as the parser reads it
        (Operator.LTEQ, "5", 5),
        (Operator.LTEQ, LiteralValue("5"), 5),
        (Operator.LTEQ, LiteralValue("5", XSD + "nonNegativeInteger"), 5),
        (Operator.EQ, LiteralValue("1", XSD + "integer"), 1),
        (Operator.LT, LiteralValue("5", XSD + "integer"), 4),
        (Operator.LTEQ, LiteralValue("0", XSD + "integer"), 0),
    ],
)
def test_an_upper_limit_is_read_as_a_number_of_accesses(
    op: Operator, right: RightOperand, limit: int
) -> None:
    assert access_limit(Constraint("count", op, right)) == limit


@pytest.mark.parametrize(
    ("op", "right", "reason"),
    [
        (Operator.GTEQ, "5", "only an upper limit"),
        (Operator.GT, "5", "only an upper limit"),
        (Operator.NEQ, "5", "only an upper limit"),
        (Operator.IS_ANY_OF, ("1", "2"), "only an upper limit"),
        (Operator.LTEQ, ("1", "2"), "one non-negative integer"),
        (Operator.LTEQ, LiteralValue("2.5", XSD + "decimal"), "one non-negative integer"),
        (Operator.LTEQ, LiteralValue("5", XSD + "string"), "one non-negative integer"),
        (Operator.LTEQ, "-1", "one non-negative integer"),
        (Operator.LTEQ, "five", "one non-negative integer"),
        (Operator.LTEQ, Reference("urn:five"), "one non-negative integer"),
        (Operator.LT, "0", "allows nothing"),
    ],
)
def test_what_is_no_countable_limit_is_refused(
    op: Operator, right: RightOperand, reason: str
) -> None:
    with pytest.raises(PolicyError, match=reason):
        access_limit(Constraint("count", op, right))
    allowed, why = negotiate(offer(Constraint("count", op, right)))
    assert allowed is False
    assert "cannot be evaluated" in why and reason in why


def test_a_count_is_accepted_at_negotiation_as_the_data_planes_obligation() -> None:
    allowed, why = negotiate(offer(ROLE, Constraint("count", Operator.LTEQ, "3")))
    assert allowed is True
    assert "count lteq '3' holds (an access limit of 3, counted by the data plane" in why


def test_a_limit_of_no_access_at_all_fails() -> None:
    allowed, why = negotiate(offer(Constraint("count", Operator.LTEQ, "0")))
    assert allowed is False and "is not satisfied" in why


def test_with_the_uses_known_the_limit_is_checked() -> None:
    limited = offer(Constraint("count", Operator.LT, "3"))
    assert negotiate(limited, uses=1) == (
        True,
        "permission 1 (use) is satisfied: count lt '3' holds (1 of 2 accesses used)",
    )
    allowed, why = negotiate(limited, uses=2)
    assert allowed is False and "count lt '3' fails (2 of 2 accesses used)" in why


def test_a_count_read_from_json_in_any_spelling_negotiates() -> None:
    for number in (3, "3", {"@value": "3", "@type": "xsd:integer"}):
        policy = parse_policy({
            "@type": "Offer",
            "@id": "urn:offer:n",
            "permission": [{"action": "use", "constraint": [
                {"leftOperand": "odrl:count", "operator": {"@id": "odrl:lteq"}, "rightOperand": number}
            ]}],
        })  # fmt: skip
        assert negotiate(policy)[0] is True, number


@pytest.mark.parametrize(
    "constraint",
    [
        LogicalConstraint(LogicalOperator.AND, (ROLE, Constraint("count", Operator.LTEQ, "3"))),
        LogicalConstraint(
            LogicalOperator.AND_SEQUENCE, (Constraint("count", Operator.LTEQ, "3"), ROLE)
        ),
    ],
)
def test_a_count_under_and_is_counted(constraint: LogicalConstraint) -> None:
    assert negotiate(offer(constraint))[0] is True


@pytest.mark.parametrize("operator", [LogicalOperator.OR, LogicalOperator.XONE])
def test_a_count_in_an_alternative_is_refused(operator: LogicalOperator) -> None:
    # The data plane only counts limits that always apply; one that may or may not apply
    # would be silently unlimited, so it is refused instead.
    either = LogicalConstraint(operator, (Constraint("count", Operator.LTEQ, "3"), ROLE))
    allowed, why = negotiate(offer(either))
    assert allowed is False
    assert "not inside 'or' / 'xone'" in why


def test_a_count_in_a_prohibition_is_refused() -> None:
    prohibited = Rule("use", (Constraint("count", Operator.GT, "10"),))
    allowed, why = negotiate(offer(prohibitions=(prohibited,)))
    assert allowed is False
    assert "prohibition 1 (use) cannot be evaluated" in why


def test_other_unknown_operands_are_still_refused() -> None:
    allowed, why = negotiate(
        offer(
            Constraint("count", Operator.LTEQ, "3"),
            Constraint("urn:example:weather", Operator.EQ, "fine"),
        )
    )
    assert allowed is False and "'urn:example:weather' is not defined" in why
