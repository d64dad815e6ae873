"""The left operands of tsunagu's policy profile, each compiled once into a check.

`compile_constraint` reads a constraint's right operand *once* (dates, durations, codes,
amounts) and returns a `Check`: a function of the request that yields a `Verdict`. A value of
the wrong form, an operator the operand does not take, or an operand the profile does not
define raises `PolicyError` here; the decision point turns that into an undecidable verdict
(undecidable never grants), the write-time check into an error naming the place.

Facts come from the request: verified credential claims (`requester`), the stated purpose,
the decision instant, the agreement's start, accesses so far, the last access, a payment;
places from an injected `Geography`, alerts from an injected `AlertState`.
"""

from __future__ import annotations

import operator as op
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from policies.alerts import AlertState
from policies.errors import InvalidValue, PolicyError, UnknownTerm
from policies.geography import Geography
from policies.model import Constraint, FloodAlert
from policies.purposes import PurposeTree, vocabulary_purposes
from policies.reasons import Reason, Verdict
from policies.terms import Operator, expand
from policies.usage import COUNT, access_limit
from policies.values import (
    items,
    municipality_code,
    parse_currency,
    parse_datetime,
    parse_decimal,
    parse_duration,
    parse_place,
    show_operand,
    texts,
)

if TYPE_CHECKING:
    from policies.decision import DecisionRequest

Check = Callable[["DecisionRequest"], Verdict]

OP = Operator
_ORDER: Mapping[Operator, Callable[[Any, Any], bool]] = {
    OP.EQ: op.eq,
    OP.NEQ: op.ne,
    OP.LT: op.lt,
    OP.LTEQ: op.le,
    OP.GT: op.gt,
    OP.GTEQ: op.ge,
}
_SET = frozenset({OP.EQ, OP.NEQ, OP.IS_ANY_OF, OP.IS_NONE_OF})
_ORDERED = frozenset({OP.EQ, OP.NEQ, OP.LT, OP.LTEQ, OP.GT, OP.GTEQ})


@dataclass(frozen=True)
class Environment:
    """What the decision point knows beyond the request."""

    geography: Geography | None = None
    alerts: AlertState | None = None
    purposes: PurposeTree | None = None
    """None: the shared vocabulary's purpose hierarchy, read when first needed."""


@dataclass(frozen=True)
class Operand:
    """One left operand of the profile: its operators and how it is compiled."""

    name: str
    operators: frozenset[Operator]
    value: str
    """The right operand it takes, for people (docs/policy-profile.md)."""
    fact: str
    """Where the decision point reads the requester's side."""
    build: Callable[[Constraint, Environment, str], Check] = field(repr=False)


def compile_constraint(
    c: Constraint, env: Environment, path: str = "", *, counted: bool = True
) -> Check:
    """The check for one atomic constraint (PolicyError when it cannot be checked at all).

    `counted`: whether a `count` here is one the data plane counts (a permission's
    and-combined constraints); anywhere else it cannot be enforced and is refused."""
    if c.left_operand == COUNT:
        if not counted:
            raise PolicyError(
                "an access count is only enforced among a permission's and-combined "
                "constraints, not inside 'or' / 'xone', a prohibition or a duty",
                code="count_not_counted",
                path=path,
            )
        return _count(c, path)
    spec = OPERANDS.get(c.left_operand)
    if spec is None:
        raise UnknownTerm(
            f"left operand {c.left_operand!r} is not defined by tsunagu's policy profile",
            term=c.left_operand,
            code="unknown_operand",
            path=f"{path}/leftOperand" if path else "",
        )
    if c.operator not in spec.operators:
        raise UnknownTerm(
            f"operator {c.operator.value!r} is not supported for {c.left_operand!r}; use "
            + ", ".join(sorted(o.value for o in spec.operators)),
            term=c.operator.value,
            code="unsupported_operator",
            path=f"{path}/operator" if path else "",
        )
    if c.unit is not None and c.left_operand != "payAmount":
        raise InvalidValue(f"{c.left_operand!r} takes no unit", path=f"{path}/unit" if path else "")
    try:
        return spec.build(c, env, path)
    except PolicyError as exc:
        if exc.path or not path:
            raise
        where = f"{path}/unit" if exc.code == "invalid_unit" else f"{path}/rightOperand"
        raise type(exc)(exc.detail, code=exc.code, path=where) from None


def show(c: Constraint) -> str:
    unit = f" {c.unit}" if c.unit else ""
    return f"{c.left_operand} {c.operator.value} {show_operand(c.right_operand)}{unit}"


def _verdict(holds: bool, c: str, path: str, fact: str, actual: object) -> Verdict:
    code = "constraint_holds" if holds else "constraint_fails"
    return Verdict(
        holds, Reason(code, path, (("constraint", c), ("fact", fact), ("actual", actual)))
    )


def _missing(c: str, path: str, fact: str) -> Verdict:
    return Verdict(False, Reason("fact_missing", path, (("constraint", c), ("fact", fact))))


def _undecidable(code: str, c: str, path: str, detail: object) -> Verdict:
    return Verdict(None, Reason(code, path, (("constraint", c), ("detail", detail))))


def _one(c: Constraint) -> None:
    if c.operator in (OP.EQ, OP.NEQ) or c.operator in _ORDERED:
        if isinstance(c.right_operand, tuple):
            raise InvalidValue(f"{c.operator.value!r} needs exactly one value")


def _set_test(operator: Operator, actual: str, values: frozenset[str]) -> bool:
    if operator in (OP.EQ, OP.IS_ANY_OF):
        return actual in values
    if operator is OP.IS_ALL_OF:
        return values == {actual}
    return actual not in values  # neq, isNoneOf


# -- claims and stated facts --------------------------------------------------------------------


def _text_fact(get: Callable[[DecisionRequest], object], fact: str) -> Callable[..., Check]:
    def build(c: Constraint, env: Environment, path: str) -> Check:
        _one(c)
        values = frozenset(texts(c.right_operand, "the right operand"))
        shown, operator = show(c), c.operator
        tree = None
        if operator is OP.IS_A:
            tree = env.purposes or vocabulary_purposes()

        def check(request: DecisionRequest) -> Verdict:
            raw = get(request)
            if not isinstance(raw, str) or not raw:
                return _missing(shown, path, fact)
            actual = expand(raw)
            if tree is not None:
                holds = any(tree.is_a(actual, v) for v in values)
            else:
                holds = _set_test(operator, actual, values)
            return _verdict(holds, shown, path, fact, repr(raw))

        return check

    return build


def _memberships(c: Constraint, _env: Environment, path: str) -> Check:
    _one(c)
    values = frozenset(texts(c.right_operand, "the right operand"))
    shown, operator = show(c), c.operator

    def check(request: DecisionRequest) -> Verdict:
        claim = request.requester.get("memberships")
        if not isinstance(claim, list | tuple) or not all(isinstance(m, str) for m in claim):
            return _missing(shown, path, "memberships")
        held = frozenset(expand(m) for m in claim)
        if operator in (OP.EQ, OP.IS_ANY_OF):
            holds = bool(held & values)
        elif operator in (OP.HAS_PART, OP.IS_ALL_OF):
            holds = values <= held
        else:  # neq, isNoneOf
            holds = not held & values
        return _verdict(holds, shown, path, "memberships", ", ".join(sorted(claim)))

    return check


_CODE = re.compile(r"\d{2}|\d{5}|\d{6}")


def _municipality_code(c: Constraint, _env: Environment, path: str) -> Check:
    """The credential's municipality code: codes compared by their 5-digit form (the 6-digit
    form adds a check digit); `isPartOf` a prefecture (2 digits or NN000) or a code."""
    _one(c)
    values = texts(c.right_operand, "the right operand")
    if not all(_CODE.fullmatch(v) for v in values):
        raise InvalidValue("the right operand must be municipality or prefecture codes")
    if c.operator is not OP.IS_PART_OF and any(len(v) == 2 for v in values):
        raise InvalidValue("a prefecture code only makes sense with 'isPartOf'")
    shown, operator = show(c), c.operator
    codes = frozenset(v[:5] for v in values)

    def check(request: DecisionRequest) -> Verdict:
        actual = request.requester.get("municipality_code")
        if not isinstance(actual, str) or not re.fullmatch(r"\d{5}|\d{6}", actual):
            return _missing(shown, path, "municipality")
        code = actual[:5]
        if operator is OP.IS_PART_OF:
            holds = any(_within(code, region) for region in values)
        else:
            holds = _set_test(operator, code, codes)
        return _verdict(holds, shown, path, "municipality", repr(actual))

    return check


def _within(code: str, region: str) -> bool:
    if len(region) == 2 or region[2:5] == "000":  # a prefecture: its two-digit prefix
        return code[:2] == region[:2]
    return code == region[:5]


def _spatial(c: Constraint, env: Environment, path: str) -> Check:
    """Where the requester is: its verified municipality, checked against municipalities
    (eq / isAnyOf / ...) or lying in regions (isPartOf: a prefecture, a municipality, or a
    river basin of the decision point's geography)."""
    _one(c)
    places = tuple(parse_place(v) for v in items(c.right_operand))
    shown, operator = show(c), c.operator
    if operator is not OP.IS_PART_OF and any(p.kind != "municipality" for p in places):
        raise InvalidValue(
            f"{operator.value!r} compares municipalities; a prefecture or basin is a region: "
            "use 'isPartOf'"
        )
    basins: list[frozenset[str]] = []
    unknown: list[str] = []
    for place in places:
        if place.kind == "region":
            basin = env.geography.basin(place.key) if env.geography else None
            if basin is None:
                unknown.append(place.key)
            else:
                basins.append(basin.municipalities)
    if unknown and env.geography is not None:
        raise InvalidValue(f"{', '.join(unknown)}: no such basin in the geography")
    codes = frozenset(p.key for p in places if p.kind == "municipality")
    prefectures = frozenset(p.key for p in places if p.kind == "prefecture")

    def check(request: DecisionRequest) -> Verdict:
        if unknown:
            return _undecidable("no_geography", shown, path, ", ".join(unknown))
        claim = request.requester.get("municipality_code")
        try:
            code = municipality_code(claim) if isinstance(claim, str) else None
        except PolicyError:
            code = None
        if code is None:
            return _missing(shown, path, "municipality")
        if operator is OP.IS_PART_OF:
            holds = code in codes or code[:2] in prefectures or any(code in b for b in basins)
        else:
            holds = _set_test(operator, code, codes)
        return _verdict(holds, shown, path, "municipality", repr(claim))

    return check


def _recipient(request: DecisionRequest) -> object:
    return request.requester.get("did")


# -- time ---------------------------------------------------------------------------------------


def _date_time(c: Constraint, _env: Environment, path: str) -> Check:
    _one(c)
    bound = parse_datetime(items(c.right_operand)[0])
    compare, shown = _ORDER[c.operator], show(c)

    def check(request: DecisionRequest) -> Verdict:
        now = request.now
        if now.utcoffset() is None:
            return _undecidable("naive_now", shown, path, now)
        return _verdict(compare(now, bound), shown, path, "now", now)

    return check


def _elapsed_time(c: Constraint, _env: Environment, path: str) -> Check:
    """Time since the agreement: `elapsedTime lteq P90D` holds until 90 calendar days after
    the agreement's instant. While the agreement is being made, no time has elapsed."""
    _one(c)
    duration = parse_duration(items(c.right_operand)[0])
    compare, shown = _ORDER[c.operator], show(c)

    def check(request: DecisionRequest) -> Verdict:
        start = request.agreed_at
        if start is None:
            if request.phase != "negotiation":
                return _undecidable("no_agreement_time", shown, path, "")
            start = request.now
        if request.now.utcoffset() is None or start.utcoffset() is None:
            return _undecidable("naive_now", shown, path, request.now)
        # elapsed OP d  <=>  now OP (start + d), with the calendar doing the months
        holds = compare(request.now, duration.after(start))
        return _verdict(holds, shown, path, "elapsed", start)

    return check


def _time_interval(c: Constraint, _env: Environment, path: str) -> Check:
    """A recurring period between uses: `timeInterval eq P1D` (or `gteq`) allows a use once
    the period has passed since the previous one; `gt` only after it."""
    _one(c)
    duration = parse_duration(items(c.right_operand)[0])
    strict, shown = c.operator is OP.GT, show(c)

    def check(request: DecisionRequest) -> Verdict:
        last = request.last_use
        if last is None:
            return _verdict(True, shown, path, "last_use", "")
        ready = duration.after(last)
        holds = request.now > ready if strict else request.now >= ready
        return _verdict(holds, shown, path, "last_use", last)

    return check


# -- events, money, counts ------------------------------------------------------------------


def _event(c: Constraint, env: Environment, path: str) -> Check:
    _one(c)
    alerts_wanted: list[FloodAlert] = []
    for value in items(c.right_operand):
        if not isinstance(value, FloodAlert):
            raise InvalidValue(
                "the right operand of 'event' must be a FloodAlert "
                '({"@type": "FloodAlert", "alertLevel": N, "area": {"@id": ...}})'
            )
        if not 1 <= value.level <= 5:
            raise InvalidValue(f"alert level {value.level} is not a 警戒レベル (1-5)")
        if env.geography is not None and (
            env.geography.basin(value.area) is None
            and env.geography.basin_of_station(value.area) is None
        ):
            raise InvalidValue(f"{value.area}: no such basin or station in the geography")
        alerts_wanted.append(value)
    shown, operator, alerts = show(c), c.operator, env.alerts

    def check(request: DecisionRequest) -> Verdict:
        if alerts is None:
            return _undecidable("no_alert_state", shown, path, "")
        active = []
        seen = []
        for wanted in alerts_wanted:
            level = alerts.alert_level(wanted.area, request.now)
            if level is None:
                return _undecidable("unknown_area", shown, path, wanted.area)
            active.append(level >= wanted.level)
            seen.append(f"{wanted.area}: {level}")
        if operator in (OP.EQ, OP.IS_ANY_OF):
            holds = any(active)
        else:
            holds = not any(active)
        return _verdict(holds, shown, path, "alert", "; ".join(seen))

    return check


def _pay_amount(c: Constraint, _env: Environment, path: str) -> Check:
    _one(c)
    amount = parse_decimal(items(c.right_operand)[0])
    try:
        currency = parse_currency(c.unit)
    except InvalidValue as exc:
        raise InvalidValue(exc.detail, code="invalid_unit") from None
    compare, shown = _ORDER[c.operator], show(c)

    def check(request: DecisionRequest) -> Verdict:
        paid = request.payment
        if paid is None:
            return _missing(shown, path, "payment")
        actual = f"{paid.amount} {paid.currency}"
        holds = paid.currency == currency and compare(paid.amount, amount)
        return _verdict(holds, shown, path, "payment", actual)

    return check


def _count(c: Constraint, path: str) -> Check:
    try:
        limit = access_limit(c)
    except PolicyError as exc:
        raise PolicyError(exc.detail, code=exc.code, path=path) from None
    shown = show(c)

    def check(request: DecisionRequest) -> Verdict:
        if request.uses is None:  # making the agreement: the data plane counts from here on
            holds, code, used = limit > 0, "count_agreed", ""
        else:
            holds, code, used = request.uses < limit, "count_used", str(request.uses)
        args = (("constraint", shown), ("outcome", "holds" if holds else "fails"),
                ("limit", str(limit)), ("uses", used))  # fmt: skip
        return Verdict(holds, Reason(code, path, args))

    return check


@dataclass(frozen=True, slots=True)
class Payment:
    """What the requester pays (or has committed to) for this use."""

    amount: Decimal
    currency: str


def _purpose(request: DecisionRequest) -> object:
    return request.purpose


def _role(request: DecisionRequest) -> object:
    return request.requester.get("role")


_MEMBER_OPS = frozenset({*_SET, OP.HAS_PART, OP.IS_ALL_OF})

OPERANDS: Mapping[str, Operand] = {
    o.name: o
    for o in (
        Operand("spatial", frozenset({*_SET, OP.IS_PART_OF}),
                "municipality code or e-Stat area IRI; for isPartOf also a prefecture code "
                "or a basin IRI", "the requester's verified municipality code", _spatial),
        Operand("dateTime", _ORDERED, "xsd:dateTime with a time zone",
                "the decision instant", _date_time),
        Operand("elapsedTime", _ORDERED, "xsd:duration (P90D, P3M, PT12H)",
                "time since the agreement was made", _elapsed_time),
        Operand("timeInterval", frozenset({OP.EQ, OP.GTEQ, OP.GT}), "xsd:duration",
                "time since the previous use", _time_interval),
        Operand("event", _SET, "FloodAlert {alertLevel 1-5, area: basin or station IRI}",
                "the alert state the connector derives from its gauges", _event),
        Operand("recipient", _SET, "participant DID", "the requester's DID",
                _text_fact(_recipient, "recipient")),
        Operand("role", _SET, "role name", "credential claim role",
                _text_fact(_role, "role")),
        Operand("membership", _MEMBER_OPS, "membership (dataspace, council) IRI or name",
                "credential claim memberships", _memberships),
        Operand("memberships", _MEMBER_OPS, "as membership", "credential claim memberships",
                _memberships),
        Operand("municipalityCode", frozenset({*_SET, OP.IS_PART_OF}),
                "5- or 6-digit municipality code; 2-digit prefecture with isPartOf",
                "credential claim municipalityCode", _municipality_code),
        Operand("payAmount", _ORDERED, "xsd:decimal with unit: ISO 4217 currency",
                "the payment stated in the request", _pay_amount),
        Operand("purpose", frozenset({*_SET, OP.IS_A}),
                "purpose IRI (tsunagu purpose: or DPV)", "the purpose stated in the request",
                _text_fact(_purpose, "purpose")),
    )
}  # fmt: skip
"""Every left operand but `count`, which `compile_constraint` reads with `policies.usage`."""

COUNT_OPERAND = Operand(
    COUNT,
    frozenset({OP.LTEQ, OP.LT, OP.EQ}),
    "non-negative xsd:integer",
    "accesses made under the agreement, counted by the data plane",
    lambda c, env, path: _count(c, path),
)
