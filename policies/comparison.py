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
from typing import Any

from policies.model import (
    ConstraintLike,
    LiteralValue,
    LogicalConstraint,
    Policy,
    Reference,
    RightOperand,
    Rule,
)
from policies.terms import LogicalOperator


def same_terms(a: Policy, b: Policy) -> bool:
    return terms_key(a) == terms_key(b)


def terms_key(policy: Policy) -> str:
    """A string equal for exactly those policies that `same_terms` considers equal."""
    return json.dumps(
        [
            _set(_rule(r) for r in policy.permissions),
            _set(_rule(r) for r in policy.prohibitions),
            _set(_rule(r) for r in policy.obligations),
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
        [constraint.left_operand, constraint.operator.value, _operand(constraint.right_operand)]
    )


def _operand(operand: RightOperand) -> str:
    if isinstance(operand, tuple):
        items = _set(_operand(v) for v in operand)
        return items[0] if len(items) == 1 else json.dumps(["list", items])
    if isinstance(operand, Reference):
        return json.dumps(["iri", operand.iri])
    if isinstance(operand, LiteralValue):
        return json.dumps(["literal", operand.value, operand.datatype, operand.language])
    return json.dumps(["literal", operand, None, None])
