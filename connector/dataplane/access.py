"""Whether an agreement still lets its consumer read, checked on every data request.

`AccessPolicy` is the hook: the default reads the time window (`dateTime` constraints) and an
access-count limit (`count`) from the agreement's permissions, and honours revocation by the
provider's operator. A richer policy engine plugs in here without touching the data plane.
Rules inside `or` / `xone` constraints were decided when the transfer started and are not
re-read per request (the decision point refuses a `count` there, so no limit hides in them).
A `count` is read with `policies.usage.access_limit`, as the decision point reads it; one
that cannot be read denies rather than leaving the agreement unlimited.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from connector.store.dataplane_queries import TransferSnapshot
from policies.errors import PolicyError
from policies.model import Constraint, ConstraintLike, LiteralValue, LogicalConstraint
from policies.odrl import parse_policy
from policies.terms import LogicalOperator, Operator
from policies.usage import COUNT, access_limit


@dataclass(frozen=True)
class AccessTerms:
    """The per-request terms of one permission."""

    not_before: datetime | None = None
    not_after: datetime | None = None  # exclusive
    max_accesses: int | None = None
    unreadable: str = ""  # why a limit of this permission cannot be read (then it denies)


@dataclass(frozen=True)
class AccessVerdict:
    allowed: bool
    code: str = "ok"
    reason: str = ""
    count_limit: int | None = None  # when set, the caller counts this access against it


class AccessPolicy(Protocol):
    def check(self, snapshot: TransferSnapshot, now: datetime) -> AccessVerdict: ...


class AgreementAccessPolicy:
    """The default hook. Terms are parsed once per agreement (agreements never change)."""

    def __init__(self) -> None:
        self._terms: dict[str, tuple[AccessTerms, ...]] = {}

    def check(self, snapshot: TransferSnapshot, now: datetime) -> AccessVerdict:
        if snapshot.revoked_at is not None:
            return AccessVerdict(
                False,
                "agreement_revoked",
                "the provider revoked the agreement: "
                + (snapshot.revoked_reason or "no reason given"),
            )
        terms = self._terms.get(snapshot.agreement_id)
        if terms is None:
            terms = self._terms[snapshot.agreement_id] = terms_of(snapshot.policy or {})
        if not terms:
            return AccessVerdict(True)
        refusal = AccessVerdict(False, "agreement_denies", "no permission of the agreement holds")
        for term in terms:
            verdict = _check(term, snapshot.accesses, now)
            if verdict.allowed:
                return verdict
            refusal = verdict
        return refusal


def _check(terms: AccessTerms, accesses: int, now: datetime) -> AccessVerdict:
    if terms.unreadable:
        return AccessVerdict(False, "agreement_denies", terms.unreadable)
    if terms.not_before is not None and now < terms.not_before:
        return AccessVerdict(
            False, "agreement_not_yet_valid", f"the agreement applies from {terms.not_before}"
        )
    if terms.not_after is not None and now >= terms.not_after:
        return AccessVerdict(
            False, "agreement_expired", f"the agreement expired at {terms.not_after.isoformat()}"
        )
    if terms.max_accesses is not None and accesses >= terms.max_accesses:
        return AccessVerdict(
            False,
            "access_limit_reached",
            f"the agreement allows {terms.max_accesses} accesses; all are used",
        )
    return AccessVerdict(True, count_limit=terms.max_accesses)


def terms_of(policy: dict[str, Any]) -> tuple[AccessTerms, ...]:
    """One AccessTerms per permission covering `use`; () when the policy has no permission
    (or cannot be read: it was checked when the agreement was made, so it can be read)."""
    try:
        parsed = parse_policy(policy)
    except PolicyError:
        return ()
    out = []
    for rule in parsed.permissions:
        not_before = not_after = None
        limit = None
        unreadable = ""
        for c in _conjuncts(rule.constraints):
            if c.left_operand == "dateTime":
                moment = _moment(c)
                if moment is None:
                    continue
                if c.operator in (Operator.LT, Operator.LTEQ):
                    not_after = moment if not_after is None else min(not_after, moment)
                elif c.operator in (Operator.GT, Operator.GTEQ):
                    not_before = moment if not_before is None else max(not_before, moment)
            elif c.left_operand == COUNT:
                try:
                    n = access_limit(c)
                except PolicyError as exc:
                    unreadable = f"the agreement's access limit cannot be counted: {exc}"
                    continue
                limit = n if limit is None else min(limit, n)
        out.append(AccessTerms(not_before, not_after, limit, unreadable))
    return tuple(out)


def _conjuncts(constraints: tuple[ConstraintLike, ...]) -> Iterator[Constraint]:
    for c in constraints:
        if isinstance(c, LogicalConstraint):
            if c.operator in (LogicalOperator.AND, LogicalOperator.AND_SEQUENCE):
                yield from _conjuncts(c.constraints)
        else:
            yield c


def _value(c: Constraint) -> str | None:
    operand = c.right_operand
    if isinstance(operand, LiteralValue):
        return operand.value
    return operand if isinstance(operand, str) else None


def _moment(c: Constraint) -> datetime | None:
    text = _value(c)
    try:
        moment = datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    return moment if moment is not None and moment.utcoffset() is not None else None
