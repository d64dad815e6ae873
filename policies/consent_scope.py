"""What an agreement asks of the data subjects' consent: its purposes and its recipient.

The purposes are those the agreement lets the consumer use the data for: the right operands
of its positive `purpose` constraints (`eq`, `isA`, `isAnyOf`) in every permission covering
`use`. A consent must cover each of them, so an agreement allowing "A or B" needs consent to
both. A permission without such a constraint allows any purpose, and no consent covers that
(the scope's purposes are None) - unless a prohibition limits the purposes: `use` prohibited
where `purpose isNoneOf [A, B]` (or `neq A`) leaves only A and B, however the permission
reads.

The recipient is the consumer's DID, and the role the agreement guarantees when it has a
`role eq X` constraint (checked against the consumer's credential when the agreement was made
and again when the transfer started), so a consent "for municipalities" covers it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policies.consent import ROLE, ConsentScope
from policies.errors import PolicyError
from policies.model import (
    Constraint,
    ConstraintLike,
    LiteralValue,
    LogicalConstraint,
    Reference,
    Rule,
)
from policies.parser import parse_policy
from policies.profile import covers
from policies.terms import Operator

_POSITIVE = (Operator.EQ, Operator.IS_A, Operator.IS_ANY_OF)


def agreement_scope(
    policy: Mapping[str, Any] | None, *, recipient: str, dataset: str | None
) -> ConsentScope:
    """The scope of consent an access under this agreement needs."""
    purposes: set[str] = set()
    roles: set[str] | None = None
    unrestricted = False
    try:
        parsed = parse_policy(dict(policy or {}))
    except PolicyError:
        return ConsentScope(None, frozenset({recipient}), dataset)
    uses = [rule for rule in parsed.permissions if covers(rule.action, "read")]
    for rule in uses:
        found = [c for c in _atoms(rule.constraints) if c.left_operand == "purpose"]
        named = {v for c in found if c.operator in _POSITIVE for v in _values(c)}
        if not named:
            unrestricted = True
        purposes |= named
        fixed = {
            v
            for c in _conjuncts(rule.constraints)
            if c.left_operand == "role" and c.operator is Operator.EQ
            for v in _values(c)
        }
        roles = fixed if roles is None else roles & fixed
    recipients = frozenset({recipient} | {ROLE + r for r in roles or ()})
    allowed = None if unrestricted or not uses else frozenset(purposes)
    limit = _prohibition_limit(parsed.prohibitions)
    if limit is not None:
        allowed = limit if allowed is None else allowed & limit
    return ConsentScope(allowed, recipients, dataset)


def _prohibition_limit(prohibitions: tuple[Rule, ...]) -> frozenset[str] | None:
    """The purposes left by prohibitions "no use for any purpose but these"."""
    limit: frozenset[str] | None = None
    for rule in prohibitions:
        if not covers(rule.action, "read") or len(rule.constraints) != 1:
            continue
        (c,) = rule.constraints
        if not isinstance(c, Constraint) or c.left_operand != "purpose":
            continue
        if c.operator not in (Operator.IS_NONE_OF, Operator.NEQ):
            continue
        values = frozenset(_values(c))
        limit = values if limit is None else limit & values
    return limit


def _atoms(constraints: tuple[ConstraintLike, ...]) -> Iterator[Constraint]:
    """Every atomic constraint, inside logical ones too (a purpose in an `or` is one the
    consumer may use the data for)."""
    for c in constraints:
        if isinstance(c, LogicalConstraint):
            yield from _atoms(c.constraints)
        else:
            yield c


def _conjuncts(constraints: tuple[ConstraintLike, ...]) -> Iterator[Constraint]:
    """Atomic constraints that always hold when the rule does (not those under or / xone)."""
    for c in constraints:
        if isinstance(c, LogicalConstraint):
            if c.operator.value in ("and", "andSequence"):
                yield from _conjuncts(c.constraints)
        else:
            yield c


def _values(c: Constraint) -> list[str]:
    operand = c.right_operand
    items = operand if isinstance(operand, tuple) else (operand,)
    out = []
    for item in items:
        if isinstance(item, Reference):
            out.append(item.iri)
        elif isinstance(item, LiteralValue):
            out.append(item.value)
        elif isinstance(item, str):
            out.append(item)
    return out
