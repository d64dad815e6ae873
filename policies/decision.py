"""The policy decision point: may this requester use a dataset under this policy, now?

A "deny" is a value (`Decision(allowed=False, reasons=...)`), never an exception: the caller
turns it into a termination or an error with the reasons attached.

`BasicDecisionPoint` understands a small, explicit set of left operands. Anything else makes
the rule carrying it *undecidable*, and undecidable never means yes: an undecidable
permission grants nothing and an undecidable prohibition denies. A policy that uses an
operand we do not know is therefore refused with a reason naming it, instead of silently
passing (or crashing) as users of other connectors report.

Supported (left operand -> requester fact -> operators):

    role              requester["role"]               eq neq isAnyOf isNoneOf
    membership(s)     requester["memberships"]        eq neq hasPart isAnyOf isNoneOf
    municipalityCode  requester["municipality_code"]  eq neq isAnyOf isNoneOf isPartOf
    dateTime          request.now                     lt lteq gt gteq
    purpose           request.purpose                 eq neq isAnyOf isNoneOf
    count             request.uses                    lteq lt eq   (an access limit)

`count` is an obligation of the data plane rather than a fact about the requester: when the
agreement is made (`uses` is None) it holds if it allows at least one access, and the data
plane then counts every access against it (`policies.usage.access_limit` is the one reading
both use). It is accepted only where it can be counted: among a permission's constraints,
directly or under `and` / `andSequence`. Inside `or` / `xone`, or in a prohibition, it is
undecidable and so refused.

Logical constraints: and, or, xone, andSequence (evaluated like `and`; nothing here has side
effects). Duties (a permission's `duty`, the policy's `obligation`) are what the consumer
agrees to do; they are reported in the reasons but not enforced here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from policies.errors import PolicyError
from policies.model import (
    Constraint,
    ConstraintLike,
    LiteralValue,
    LogicalConstraint,
    Policy,
    Reference,
    RightOperand,
    Rule,
)
from policies.terms import XSD, LogicalOperator, Operator
from policies.usage import COUNT, access_limit


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class DecisionRequest:
    """What the decision is about. `requester` holds the requester's *verified* membership
    claims: "did", "legal_name", "role", "municipality_code", "memberships"."""

    phase: Literal["negotiation", "transfer"]
    requester: Mapping[str, Any]
    now: datetime
    purpose: str | None = None
    action: str = "use"
    uses: int | None = None  # accesses made under the agreement so far, where they are counted


class PolicyDecisionPoint(Protocol):
    def decide(self, policy: Policy, request: DecisionRequest) -> Decision: ...


@dataclass(frozen=True)
class _Verdict:
    holds: bool | None  # None: this decision point cannot tell
    reason: str


class BasicDecisionPoint:
    """The default decision point (see the module docstring for what it understands)."""

    def decide(self, policy: Policy, request: DecisionRequest) -> Decision:
        for i, rule in enumerate(policy.prohibitions, 1):
            if not _covers(rule.action, request.action):
                continue
            verdict = _rule(rule, request, counted=False)
            if verdict.holds is None:
                return Decision(
                    False,
                    (f"prohibition {i} ({rule.action}) cannot be evaluated: {verdict.reason}",),
                )
            if verdict.holds:
                return Decision(
                    False, (f"prohibition {i} ({rule.action}) applies: {verdict.reason}",)
                )
        failures: list[str] = []
        for i, rule in enumerate(policy.permissions, 1):
            if not _covers(rule.action, request.action):
                continue
            verdict = _rule(rule, request, counted=True)
            if verdict.holds:
                duties = (*rule.duties, *policy.obligations)
                notes = tuple(
                    f"duty {d.action!r} is agreed, not enforced by this decision point"
                    for d in duties
                )
                return Decision(
                    True, (f"permission {i} ({rule.action}) is satisfied: {verdict.reason}", *notes)
                )
            state = "cannot be evaluated" if verdict.holds is None else "is not satisfied"
            failures.append(f"permission {i} ({rule.action}) {state}: {verdict.reason}")
        if not failures:
            return Decision(False, (f"no permission covers the action {request.action!r}",))
        return Decision(False, tuple(failures))


def _covers(rule_action: str, requested: str) -> bool:
    # ODRL: every usage action is included in `use`.
    return rule_action in (requested, "use")


def _rule(rule: Rule, request: DecisionRequest, *, counted: bool) -> _Verdict:
    """`counted`: whether a `count` here is one the data plane counts (see the docstring)."""
    if not rule.constraints:
        return _Verdict(True, "no constraints")
    return _combine(LogicalOperator.AND, [_evaluate(c, request, counted) for c in rule.constraints])


def _evaluate(constraint: ConstraintLike, request: DecisionRequest, counted: bool) -> _Verdict:
    if isinstance(constraint, LogicalConstraint):
        conjunction = (LogicalOperator.AND, LogicalOperator.AND_SEQUENCE)
        inner = counted and constraint.operator in conjunction
        return _combine(
            constraint.operator, [_evaluate(c, request, inner) for c in constraint.constraints]
        )
    if constraint.left_operand == COUNT:
        return _count(constraint, request, counted)
    evaluator = _EVALUATORS.get(constraint.left_operand)
    if evaluator is None:
        return _Verdict(
            None,
            f"left operand {constraint.left_operand!r} is not understood by this decision point",
        )
    return evaluator(constraint, request)


def _combine(operator: LogicalOperator, verdicts: list[_Verdict]) -> _Verdict:
    undecided = [v.reason for v in verdicts if v.holds is None]
    if undecided:
        return _Verdict(None, "; ".join(undecided))
    true = sum(1 for v in verdicts if v.holds)
    if operator is LogicalOperator.OR:
        holds = true >= 1
    elif operator is LogicalOperator.XONE:
        holds = true == 1
    else:  # and, andSequence
        holds = true == len(verdicts)
    shown = (
        [v.reason for v in verdicts if v.holds == holds]
        if operator is not LogicalOperator.XONE
        else [v.reason for v in verdicts]
    )
    prefix = "" if len(verdicts) == 1 else f"{operator.value}: "
    return _Verdict(holds, prefix + "; ".join(shown))


# -- left operands ----------------------------------------------------------------------------

Evaluator = Callable[[Constraint, DecisionRequest], _Verdict]
_SCALAR = (Operator.EQ, Operator.NEQ, Operator.IS_ANY_OF, Operator.IS_NONE_OF)


def _unsupported(c: Constraint) -> _Verdict:
    return _Verdict(
        None, f"{_show(c)}: operator {c.operator.value!r} is not supported for {c.left_operand!r}"
    )


def _scalar(c: Constraint, actual: str, values: tuple[str, ...], what: str) -> _Verdict:
    if c.operator in (Operator.EQ, Operator.NEQ) and len(values) != 1:
        return _Verdict(None, f"{_show(c)}: {c.operator.value!r} needs exactly one value")
    if c.operator in (Operator.EQ, Operator.IS_ANY_OF):
        holds = actual in values
    elif c.operator in (Operator.NEQ, Operator.IS_NONE_OF):
        holds = actual not in values
    else:
        return _unsupported(c)
    return _Verdict(holds, f"{_show(c)} {'holds' if holds else 'fails'} ({what} is {actual!r})")


def _role(c: Constraint, request: DecisionRequest) -> _Verdict:
    return _claim_scalar(c, request.requester.get("role"), "requester role")


def _purpose(c: Constraint, request: DecisionRequest) -> _Verdict:
    return _claim_scalar(c, request.purpose, "stated purpose")


def _claim_scalar(c: Constraint, actual: object, what: str) -> _Verdict:
    if c.operator not in _SCALAR:
        return _unsupported(c)
    values = _strings(c.right_operand)
    if values is None:
        return _Verdict(None, f"{_show(c)}: right operand must be strings or IRIs")
    if not isinstance(actual, str) or not actual:
        return _Verdict(False, f"{_show(c)} fails (no {what})")
    return _scalar(c, actual, values, what)


def _memberships(c: Constraint, request: DecisionRequest) -> _Verdict:
    ops = (*_SCALAR, Operator.HAS_PART)
    if c.operator not in ops:
        return _unsupported(c)
    values = _strings(c.right_operand)
    if values is None:
        return _Verdict(None, f"{_show(c)}: right operand must be strings or IRIs")
    claim = request.requester.get("memberships")
    if not isinstance(claim, list | tuple) or not all(isinstance(m, str) for m in claim):
        return _Verdict(False, f"{_show(c)} fails (no verified memberships)")
    held = set(claim)
    if c.operator in (Operator.EQ, Operator.NEQ) and len(values) != 1:
        return _Verdict(None, f"{_show(c)}: {c.operator.value!r} needs exactly one value")
    if c.operator in (Operator.EQ, Operator.IS_ANY_OF):
        holds = bool(held & set(values))
    elif c.operator is Operator.HAS_PART:
        holds = set(values) <= held
    else:  # neq, isNoneOf
        holds = not held & set(values)
    return _Verdict(
        holds, f"{_show(c)} {'holds' if holds else 'fails'} (memberships: {sorted(held)})"
    )


_CODE = re.compile(r"\d{2}|\d{5}|\d{6}")


def _municipality(c: Constraint, request: DecisionRequest) -> _Verdict:
    if c.operator not in (*_SCALAR, Operator.IS_PART_OF):
        return _unsupported(c)
    values = _strings(c.right_operand)
    if values is None or not all(_CODE.fullmatch(v) for v in values):
        return _Verdict(None, f"{_show(c)}: right operand must be municipality or prefecture codes")
    actual = request.requester.get("municipality_code")
    if not isinstance(actual, str) or not re.fullmatch(r"\d{5}|\d{6}", actual):
        return _Verdict(False, f"{_show(c)} fails (no verified municipality code)")
    # 5-digit (JIS X 0402) and 6-digit (with check digit) forms name the same municipality.
    code = actual[:5]
    if c.operator is Operator.IS_PART_OF:
        holds = any(_within(code, region) for region in values)
        return _Verdict(
            holds, f"{_show(c)} {'holds' if holds else 'fails'} (municipality {actual!r})"
        )
    if any(len(v) == 2 for v in values):
        return _Verdict(None, f"{_show(c)}: a prefecture code only makes sense with 'isPartOf'")
    return _scalar(c, code, tuple(v[:5] for v in values), "municipality code")


def _within(code: str, region: str) -> bool:
    if len(region) == 2 or region[2:5] == "000":  # a prefecture: its two-digit prefix
        return code[:2] == region[:2]
    return code == region[:5]


_ORDER: Mapping[Operator, Callable[[datetime, datetime], bool]] = {
    Operator.LT: lambda a, b: a < b,
    Operator.LTEQ: lambda a, b: a <= b,
    Operator.GT: lambda a, b: a > b,
    Operator.GTEQ: lambda a, b: a >= b,
}


def _date_time(c: Constraint, request: DecisionRequest) -> _Verdict:
    compare = _ORDER.get(c.operator)
    if compare is None:
        return _unsupported(c)
    operand = c.right_operand
    if isinstance(operand, LiteralValue) and operand.datatype in (
        None,
        XSD + "dateTime",
        XSD + "dateTimeStamp",
    ):
        operand = operand.value
    if not isinstance(operand, str):
        return _Verdict(None, f"{_show(c)}: right operand must be one xsd:dateTime")
    try:
        bound = datetime.fromisoformat(operand)
    except ValueError:
        bound = None
    if bound is None or "T" not in operand or bound.utcoffset() is None:
        return _Verdict(None, f"{_show(c)}: {operand!r} is not a date-time with a UTC offset")
    now = request.now
    if now.utcoffset() is None:
        return _Verdict(None, f"{_show(c)}: the decision time has no UTC offset")
    holds = compare(now, bound)
    return _Verdict(holds, f"{_show(c)} {'holds' if holds else 'fails'} (now is {now.isoformat()})")


def _count(c: Constraint, request: DecisionRequest, counted: bool) -> _Verdict:
    if not counted:
        return _Verdict(
            None,
            f"{_show(c)}: an access count is only enforced among a permission's and-combined "
            "constraints, not inside 'or' / 'xone' or in a prohibition",
        )
    try:
        limit = access_limit(c)
    except PolicyError as exc:
        return _Verdict(None, f"{_show(c)}: {exc}")
    if request.uses is None:  # making the agreement: the data plane counts from here on
        holds = limit > 0
        what = f"an access limit of {limit}, counted by the data plane at every access"
    else:
        holds = request.uses < limit
        what = f"{request.uses} of {limit} accesses used"
    return _Verdict(holds, f"{_show(c)} {'holds' if holds else 'fails'} ({what})")


_EVALUATORS: Mapping[str, Evaluator] = {
    "role": _role,
    "membership": _memberships,
    "memberships": _memberships,
    "municipalityCode": _municipality,
    "dateTime": _date_time,
    "purpose": _purpose,
}


def _strings(operand: RightOperand) -> tuple[str, ...] | None:
    items = operand if isinstance(operand, tuple) else (operand,)
    out: list[str] = []
    for item in items:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, Reference):
            out.append(item.iri)
        elif isinstance(item, LiteralValue) and item.datatype is None:
            out.append(item.value)
        else:
            return None
    return tuple(out)


def _show(c: Constraint) -> str:
    operand = c.right_operand
    items = operand if isinstance(operand, tuple) else (operand,)
    shown = [
        i.iri if isinstance(i, Reference) else i.value if isinstance(i, LiteralValue) else i
        for i in items
    ]
    right = repr(shown[0]) if len(shown) == 1 else repr(shown)
    return f"{c.left_operand} {c.operator.value} {right}"
