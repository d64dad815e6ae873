"""The facts of a decision in the running connector, and what a denial is called.

The consumer states its purpose in the terms it asks for: a `purpose` constraint of its
request (its own offer, or the provider's offer taken as it is: "for this purpose"). Once
agreed, the agreement's own purpose constraint is the stated purpose of every later decision.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from policies.decision import Decision, Payment
from policies.errors import PolicyError
from policies.model import Constraint, ConstraintLike, LogicalConstraint, Policy
from policies.reasons import Reason
from policies.terms import LogicalOperator, Operator
from policies.values import items, parse_currency, parse_decimal, texts

_STATED = (Operator.EQ, Operator.IS_A, Operator.IS_ANY_OF, Operator.IS_ALL_OF)


def stated_purpose(policy: Policy) -> str | None:
    """The purpose a policy's permissions name (the first one), as a full IRI."""
    for rule in policy.permissions:
        for c in _conjuncts(rule.constraints):
            if c.left_operand == "purpose" and c.operator in _STATED:
                try:
                    values = texts(c.right_operand, "purpose")
                except PolicyError:
                    continue
                if values:
                    return values[0]
    return None


def agreed_payment(policy: Policy) -> Payment | None:
    """What the consumer commits to pay by agreeing to these terms: the amount of their
    `compensate` duty (a `payAmount eq` constraint with its currency)."""
    for rule in policy.permissions:
        for duty in (*rule.duties, *policy.obligations):
            if duty.action != "compensate":
                continue
            for c in _conjuncts(duty.constraints):
                if c.left_operand == "payAmount" and c.operator is Operator.EQ:
                    try:
                        return Payment(
                            parse_decimal(items(c.right_operand)[0]), parse_currency(c.unit)
                        )
                    except PolicyError:
                        return None
    return None


def _conjuncts(constraints: tuple[ConstraintLike, ...]) -> Iterator[Constraint]:
    for c in constraints:
        if isinstance(c, LogicalConstraint):
            if c.operator in (LogicalOperator.AND, LogicalOperator.AND_SEQUENCE):
                yield from _conjuncts(c.constraints)
        else:
            yield c


@dataclass(frozen=True)
class Denial:
    code: str
    operand: str  # the left operand of the first failing constraint ("" when none)
    lasting: bool  # whether it can never hold again (expired, used up)


def denial_of(decision: Decision) -> Denial:
    """What a denial is called at the data plane and in a termination: the first failing
    constraint decides (`access_limit_reached`, `agreement_expired`, ...)."""
    leaf = next(_failing(decision.details), None)
    if leaf is None:
        return Denial("policy_denied", "", False)
    shown = leaf.arg("constraint")
    operand, _, rest = shown.partition(" ")
    operator = rest.split(" ", 1)[0]
    if leaf.code == "count_used" or operand == "count":
        return Denial("access_limit_reached", "count", True)
    if operand == "elapsedTime" or (operand == "dateTime" and operator in ("lt", "lteq", "eq")):
        return Denial("agreement_expired", operand, True)
    if operand == "dateTime":
        return Denial("agreement_not_yet_valid", operand, False)
    if operand == "event":
        return Denial("alert_not_in_force", operand, False)
    if operand == "timeInterval":
        return Denial("too_soon", operand, False)
    return Denial("policy_denied", operand, False)


def _failing(reasons: tuple[Reason, ...]) -> Iterator[Reason]:
    for r in reasons:
        if r.code in ("constraint_fails", "fact_missing") or (
            r.code == "count_used" and r.arg("outcome") == "fails"
        ):
            yield r
        elif r.code in ("prohibition_applies", "policy_void_conflict", "prohibition_undecidable"):
            continue  # a prohibition's constraints *hold*: not what failed
        yield from _failing(r.because)
