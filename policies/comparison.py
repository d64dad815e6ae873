"""Structural comparison of policy terms: "is the consumer's offer the same policy as ours?"

Two policies have the same terms when their permissions, prohibitions and obligations are the
same ODRL structure. Identity and bookkeeping are ignored (`@id`, kind, target, assigner,
assignee, profile, timestamp), and so is anything JSON-LD does not distinguish:

- spelling (already canonical in the model: `odrl:eq` == `eq`),
- the order of rules, of a rule's constraints and of `and` / `or` / `xone` operands, and of
  the items of a right-operand list (JSON-LD arrays are unordered sets),
- duplicates, except under `xone`, where a repeated operand changes the outcome.

`andSequence` is the one ordered construct and is compared in order.

The comparison runs on a canonical key (`terms_key`), which also lets a caller index many
offers by their terms instead of comparing pairwise.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from policies.errors import PolicyError
from policies.model import (
    Constraint,
    ConstraintLike,
    FloodAlert,
    LiteralValue,
    LogicalConstraint,
    Policy,
    Reference,
    RightOperand,
    Rule,
    Value,
)
from policies.operands import show
from policies.profile import covers
from policies.purposes import PurposeTree, vocabulary_purposes
from policies.reasons import Reason
from policies.terms import LogicalOperator, Operator
from policies.usage import COUNT, access_limit
from policies.values import parse_datetime, parse_decimal, parse_duration, texts


def same_terms(a: Policy, b: Policy) -> bool:
    return terms_key(a) == terms_key(b)


def terms_key(policy: Policy) -> str:
    """A string equal for exactly those policies that `same_terms` considers equal."""
    return json.dumps(
        [
            _set(_rule(r) for r in policy.permissions),
            _set(_rule(r) for r in policy.prohibitions),
            _set(_rule(r) for r in policy.obligations),
            policy.conflict,
        ],
        separators=(",", ":"),
    )


def _set(keys: Any) -> list[str]:
    return sorted(set(keys))


def _rule(rule: Rule) -> str:
    return json.dumps(
        [
            rule.action,
            _set(_constraint(c) for c in rule.constraints),
            _set(_rule(d) for d in rule.duties),
        ]
    )


def _constraint(constraint: ConstraintLike) -> str:
    if isinstance(constraint, LogicalConstraint):
        parts = [_constraint(c) for c in constraint.constraints]
        if constraint.operator is LogicalOperator.AND_SEQUENCE:
            ordered = parts
        elif constraint.operator is LogicalOperator.XONE:
            ordered = sorted(parts)
        else:
            ordered = _set(parts)
        return json.dumps([constraint.operator.value, ordered])
    return json.dumps(
        [
            constraint.left_operand,
            constraint.operator.value,
            _operand(constraint.right_operand),
            constraint.unit,
        ]
    )


def _operand(operand: RightOperand) -> str:
    if isinstance(operand, tuple):
        items = _set(_operand(v) for v in operand)
        return items[0] if len(items) == 1 else json.dumps(["list", items])
    if isinstance(operand, Reference):
        return json.dumps(["iri", operand.iri])
    if isinstance(operand, FloodAlert):
        return json.dumps(["flood-alert", operand.level, operand.area])
    if isinstance(operand, LiteralValue):
        return json.dumps(["literal", operand.value, operand.datatype, operand.language])
    return json.dumps(["literal", operand, None, None])


# -- narrower or wider: a counter-offer against the offer it answers ---------------------------


@dataclass(frozen=True)
class PolicyComparison:
    """Whether a counter-offer asks for no more than the offer allows, with the reasons."""

    acceptable: bool
    reasons: tuple[Reason, ...]

    @property
    def code(self) -> str:
        return "narrower_or_equal" if self.acceptable else "wider"


def compare_policies(
    offer: Policy, counter: Policy, *, purposes: PurposeTree | None = None
) -> PolicyComparison:
    """Is `counter` as narrow as `offer` or narrower, i.e. does everything it permits fall
    within what `offer` permits, under at least the offer's prohibitions, duties and
    obligations? The check is sound, not complete: when it cannot show that a constraint is
    implied (durations in months against days, regions it cannot place), it says wider.

    - every permission of the counter-offer lies within a permission of the offer: an action
      the offer's covers, constraints that imply each of the offer's constraints, and the
      offer's duties;
    - every prohibition of the offer is kept (or widened) and every obligation kept;
    - the conflict strategy is not loosened to `perm`.
    """
    tree = purposes
    problems: list[Reason] = []
    for i, permission in enumerate(counter.permissions):
        missing = _best_fit(permission, offer.permissions, tree)
        if missing is not None:
            problems.append(
                Reason(
                    "permission_wider",
                    f"/permission/{i}",
                    (("index", str(i + 1)), ("action", permission.action)),
                    missing,
                )
            )
    for i, prohibition in enumerate(offer.prohibitions):
        if not any(
            covers(kept.action, prohibition.action)
            and all(_implies(_conjunction(prohibition), c, tree) for c in kept.constraints)
            for kept in counter.prohibitions
        ):
            problems.append(
                Reason(
                    "prohibition_dropped", f"/prohibition/{i}", (("action", prohibition.action),)
                )
            )
    kept_obligations = {_rule(r) for r in counter.obligations}
    for i, obligation in enumerate(offer.obligations):
        if _rule(obligation) not in kept_obligations:
            problems.append(
                Reason("obligation_dropped", f"/obligation/{i}", (("action", obligation.action),))
            )
    if counter.conflict == "perm" and offer.conflict != "perm":
        problems.append(
            Reason(
                "conflict_relaxed",
                "/conflict",
                (("counter", "perm"), ("offer", offer.conflict or "invalid")),
            )
        )
    if problems:
        return PolicyComparison(False, (Reason("wider", "", (), tuple(problems)),))
    return PolicyComparison(True, (Reason("narrower_or_equal"),))


def _best_fit(
    permission: Rule, offered: tuple[Rule, ...], tree: PurposeTree | None
) -> tuple[Reason, ...] | None:
    """None when some offered permission contains `permission`; else what the closest
    candidate (the first whose action covers it) misses."""
    closest: tuple[Reason, ...] | None = None
    mine = _conjunction(permission)
    duties = {_rule(d) for d in permission.duties}
    for candidate in offered:
        if not covers(candidate.action, permission.action):
            continue
        missing = [
            Reason("constraint_dropped", "", (("constraint", _show(c)),))
            for c in candidate.constraints
            if not _implies(mine, c, tree)
        ]
        missing += [
            Reason("duty_dropped", "", (("action", d.action),))
            for d in candidate.duties
            if _rule(d) not in duties
        ]
        if not missing:
            return None
        if closest is None:
            closest = tuple(missing)
    return closest or ()


def _conjunction(rule: Rule) -> ConstraintLike | None:
    if not rule.constraints:
        return None
    if len(rule.constraints) == 1:
        return rule.constraints[0]
    return LogicalConstraint(LogicalOperator.AND, rule.constraints)


def _implies(a: ConstraintLike | None, b: ConstraintLike, tree: PurposeTree | None) -> bool:
    """Whether `a` holding guarantees `b` holds (a sound approximation)."""
    if a is not None and _constraint(a) == _constraint(b):
        return True
    if isinstance(a, LogicalConstraint) and a.operator in (
        LogicalOperator.OR,
        LogicalOperator.XONE,
    ):
        return all(_implies(x, b, tree) for x in a.constraints)
    if isinstance(b, LogicalConstraint):
        if b.operator in (LogicalOperator.AND, LogicalOperator.AND_SEQUENCE):
            return all(_implies(a, x, tree) for x in b.constraints)
        if b.operator is LogicalOperator.OR:
            if any(_implies(a, x, tree) for x in b.constraints):
                return True
    if isinstance(a, LogicalConstraint):
        if a.operator in (LogicalOperator.AND, LogicalOperator.AND_SEQUENCE):
            return any(_implies(x, b, tree) for x in a.constraints)
        return False
    if a is None or isinstance(b, LogicalConstraint):
        return False
    if a.left_operand != b.left_operand or a.unit != b.unit:
        return False
    try:
        return _atomic_implies(a, b, tree)
    except PolicyError:
        return False  # a value that cannot be read implies nothing


_POSITIVE = (Operator.EQ, Operator.IS_ANY_OF)
_NEGATIVE = (Operator.NEQ, Operator.IS_NONE_OF)
_BOUNDS = (Operator.LT, Operator.LTEQ, Operator.GT, Operator.GTEQ, Operator.EQ, Operator.NEQ)


def _atomic_implies(a: Constraint, b: Constraint, tree: PurposeTree | None) -> bool:
    name = a.left_operand
    if name == COUNT:
        return access_limit(a) <= access_limit(b)
    if name in _ORDERED:
        return _interval_implies(a, b, _ORDERED[name])
    if name == "event":
        return _event_implies(a, b)
    pa, pb = a.operator, b.operator
    va = frozenset(texts(a.right_operand, "value"))
    vb = frozenset(texts(b.right_operand, "value"))
    if name in ("membership", "memberships"):
        if pa in (Operator.HAS_PART, Operator.IS_ALL_OF):
            if pb in (Operator.HAS_PART, Operator.IS_ALL_OF):
                return vb <= va
            if pb in _POSITIVE:
                return bool(va & vb)
        if pa in _POSITIVE and pb in _POSITIVE:
            return va <= vb
        if pa in _NEGATIVE and pb in _NEGATIVE:
            return vb <= va
        return False
    if pb is Operator.IS_A:
        purposes = tree or vocabulary_purposes()
        if pa in _POSITIVE or pa is Operator.IS_A:
            return all(any(purposes.is_a(x, c) for c in vb) for x in va)
        return False
    if pb is Operator.IS_PART_OF:
        if pa in _POSITIVE or pa is Operator.IS_PART_OF:
            return all(x in vb or _prefecture(x) in vb for x in va)
        return False
    if pa in _POSITIVE and pb in _POSITIVE:
        return va <= vb
    if pa in _POSITIVE and pb in _NEGATIVE:
        return not va & vb
    if pa in _NEGATIVE and pb in _NEGATIVE:
        return vb <= va
    return False


def _prefecture(value: str) -> str:
    digits = value.removeprefix("http://data.e-stat.go.jp/lod/sac/C")
    return digits[:2] if digits.isdigit() and len(digits) in (5, 6) else ""


def _duration_key(value: Value) -> tuple[str, Any]:
    d = parse_duration(value)
    if d.months and d.rest:
        raise PolicyError("mixed calendar and clock units do not compare", code="incomparable")
    return ("months", d.months) if d.months else ("time", d.rest)


def _datetime_key(value: Value) -> tuple[str, Any]:
    return ("instant", parse_datetime(value))


def _decimal_key(value: Value) -> tuple[str, Any]:
    return ("number", parse_decimal(value))


_ORDERED: dict[str, Callable[[Value], tuple[str, Any]]] = {
    "dateTime": _datetime_key,
    "elapsedTime": _duration_key,
    "timeInterval": _duration_key,
    "payAmount": _decimal_key,
}


def _interval_implies(
    a: Constraint, b: Constraint, key: Callable[[Value], tuple[str, Any]]
) -> bool:
    if a.operator not in _BOUNDS or b.operator not in _BOUNDS:
        return False
    if isinstance(a.right_operand, tuple) or isinstance(b.right_operand, tuple):
        return False
    ka, kb = key(a.right_operand), key(b.right_operand)
    if ka[0] != kb[0]:
        return False
    x, y = ka[1], kb[1]
    pa, pb = a.operator, b.operator
    if pb is Operator.NEQ:  # a excludes y
        return (pa is Operator.NEQ and x == y) or (pa is Operator.EQ and x != y) or (
            pa is Operator.LT and y >= x) or (pa is Operator.LTEQ and y > x) or (
            pa is Operator.GT and y <= x) or (pa is Operator.GTEQ and y < x)  # fmt: skip
    if pa is Operator.NEQ:
        return False
    if pb is Operator.EQ:
        return pa is Operator.EQ and x == y
    upper = pb in (Operator.LT, Operator.LTEQ)
    if pa is Operator.EQ:
        return bool({Operator.LT: x < y, Operator.LTEQ: x <= y,
                     Operator.GT: x > y, Operator.GTEQ: x >= y}[pb])  # fmt: skip
    if upper != (pa in (Operator.LT, Operator.LTEQ)):
        return False
    if upper:  # a: v < x (or <=), b: v < y (or <=)
        return x < y or (x == y and (pb is Operator.LTEQ or pa is Operator.LT))
    return x > y or (x == y and (pb is Operator.GTEQ or pa is Operator.GT))


def _event_implies(a: Constraint, b: Constraint) -> bool:
    ea, eb = a.right_operand, b.right_operand
    if not isinstance(ea, FloodAlert) or not isinstance(eb, FloodAlert) or ea.area != eb.area:
        return False
    if a.operator is Operator.EQ and b.operator is Operator.EQ:
        return ea.level >= eb.level
    if a.operator is Operator.NEQ and b.operator is Operator.NEQ:
        return ea.level <= eb.level
    return False


def _show(c: ConstraintLike) -> str:
    if isinstance(c, LogicalConstraint):
        return f"{c.operator.value}(" + ", ".join(_show(x) for x in c.constraints) + ")"
    return show(c)
