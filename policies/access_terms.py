"""The per-access terms of an agreement: its time window and its access-count limit.

Read from the agreed policy's permissions (the conjuncts of each; rules inside `or` / `xone`
are decided when a transfer starts, and the decision point refuses a `count` there):

    dateTime lt/lteq T     no access from T on        dateTime gt/gteq T    none before T
    elapsedTime lteq D     none after agreed + D      elapsedTime lt D      none from agreed + D
    elapsedTime gt/gteq D  none before agreed + D
    count (see `policies.usage.access_limit`)         at most N accesses

Both the data plane (deciding an access now) and the audit verifier (re-deciding an access it
finds in a log) read them here, so the two cannot disagree on what an agreement allowed. Pure:
the instant and the number of accesses so far are passed in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from policies.errors import PolicyError
from policies.model import Constraint, ConstraintLike, LiteralValue, LogicalConstraint
from policies.odrl import parse_policy
from policies.terms import LogicalOperator, Operator
from policies.usage import COUNT, access_limit
from policies.values import Duration, items, parse_duration

__all__ = ["AccessTerms", "TermsVerdict", "check_terms", "decide_terms", "terms_of"]

ELAPSED = "elapsedTime"


@dataclass(frozen=True)
class AccessTerms:
    """The per-request terms of one permission."""

    not_before: datetime | None = None
    not_after: datetime | None = None  # exclusive (unless `not_after_inclusive`)
    max_accesses: int | None = None
    unreadable: str = ""  # why a limit of this permission cannot be read (then it denies)
    elapsed: tuple[tuple[Operator, Duration], ...] = ()  # `elapsedTime` bounds, from agreement
    not_after_inclusive: bool = False  # `dateTime lteq`: the instant itself still allowed
    not_before_exclusive: bool = False  # `dateTime gt`: the instant itself not yet allowed

    def window(self, agreed_at: datetime | None) -> tuple[_Bound, _Bound]:
        """(start, end) once `elapsedTime` is placed at `agreed_at` (without an agreement
        instant an elapsedTime bound cannot be placed: it is skipped). Each bound is
        (instant, whether the instant itself is allowed) or None."""
        start: _Bound = _bound(self.not_before, not self.not_before_exclusive)
        end: _Bound = _bound(self.not_after, self.not_after_inclusive)
        for operator, duration in self.elapsed if agreed_at is not None else ():
            assert agreed_at is not None
            at = duration.after(agreed_at)
            if operator in (Operator.LT, Operator.LTEQ):
                end = _tighter(end, (at, operator is Operator.LTEQ), earlier=True)
            elif operator in (Operator.GT, Operator.GTEQ):
                start = _tighter(start, (at, operator is Operator.GTEQ), earlier=False)
        return start, end


_Bound = tuple[datetime, bool] | None


def _bound(at: datetime | None, inclusive: bool) -> _Bound:
    return None if at is None else (at, inclusive)


def _tighter(a: _Bound, b: _Bound, *, earlier: bool) -> _Bound:
    """The stricter of two bounds: the earlier end (or later start); at a tie, the one that
    leaves the instant out."""
    if a is None or b is None:
        return a or b
    if a[0] != b[0]:
        return a if (a[0] < b[0]) == earlier else b
    return (a[0], a[1] and b[1])


@dataclass(frozen=True)
class TermsVerdict:
    allowed: bool
    code: str = "ok"
    reason: str = ""
    count_limit: int | None = None  # when set, the caller counts this access against it


def check_terms(
    terms: AccessTerms, *, accesses: int, now: datetime, agreed_at: datetime | None = None
) -> TermsVerdict:
    """Whether one permission lets one more access happen at `now`, `accesses` having
    happened before it."""
    if terms.unreadable:
        return TermsVerdict(False, "agreement_denies", terms.unreadable)
    start, end = terms.window(agreed_at)
    if start is not None and (now < start[0] if start[1] else now <= start[0]):
        return TermsVerdict(
            False, "agreement_not_yet_valid", f"the agreement applies from {start[0]}"
        )
    if end is not None and (now > end[0] if end[1] else now >= end[0]):
        return TermsVerdict(
            False, "agreement_expired", f"the agreement expired at {end[0].isoformat()}"
        )
    if terms.max_accesses is not None and accesses >= terms.max_accesses:
        return TermsVerdict(
            False,
            "access_limit_reached",
            f"the agreement allows {terms.max_accesses} accesses; all are used",
        )
    return TermsVerdict(True, count_limit=terms.max_accesses)


def decide_terms(
    terms: tuple[AccessTerms, ...],
    *,
    accesses: int,
    now: datetime,
    agreed_at: datetime | None = None,
) -> TermsVerdict:
    """Allowed when any permission allows it (no permission: nothing to keep to); else the
    refusal of the last permission tried."""
    if not terms:
        return TermsVerdict(True)
    refusal = TermsVerdict(False, "agreement_denies", "no permission of the agreement holds")
    for term in terms:
        verdict = check_terms(term, accesses=accesses, now=now, agreed_at=agreed_at)
        if verdict.allowed:
            return verdict
        refusal = verdict
    return refusal


def terms_of(policy: dict[str, Any]) -> tuple[AccessTerms, ...]:
    """One AccessTerms per permission covering `use`; () when the policy has no permission
    (or cannot be read: it was checked when the agreement was made, so it can be read)."""
    try:
        parsed = parse_policy(policy)
    except PolicyError:
        return ()
    out = []
    for rule in parsed.permissions:
        start: _Bound = None
        end: _Bound = None
        limit = None
        unreadable = ""
        elapsed: list[tuple[Operator, Duration]] = []
        for c in _conjuncts(rule.constraints):
            if c.left_operand == "dateTime":
                moment = _moment(c)
                if moment is None:
                    continue
                if c.operator in (Operator.LT, Operator.LTEQ):
                    end = _tighter(end, (moment, c.operator is Operator.LTEQ), earlier=True)
                elif c.operator in (Operator.GT, Operator.GTEQ):
                    start = _tighter(start, (moment, c.operator is Operator.GTEQ), earlier=False)
            elif c.left_operand == ELAPSED:
                try:
                    [value] = items(c.right_operand)
                    elapsed.append((c.operator, parse_duration(value)))
                except (PolicyError, ValueError):
                    unreadable = "the agreement's elapsedTime cannot be read"
            elif c.left_operand == COUNT:
                try:
                    n = access_limit(c)
                except PolicyError as exc:
                    unreadable = f"the agreement's access limit cannot be counted: {exc}"
                    continue
                limit = n if limit is None else min(limit, n)
        out.append(
            AccessTerms(
                not_before=start[0] if start else None,
                not_after=end[0] if end else None,
                max_accesses=limit,
                unreadable=unreadable,
                elapsed=tuple(elapsed),
                not_after_inclusive=bool(end and end[1]),
                not_before_exclusive=bool(start and not start[1]),
            )
        )
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
