"""Right-operand values in the forms the profile defines: instants, durations, amounts, IRIs
and places. Each reader raises `InvalidValue` naming what it expected, so the same function
serves the write-time check (an error) and the decision point (an undecidable constraint).
"""

from __future__ import annotations

import calendar
import functools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from policies.errors import InvalidValue
from policies.model import FloodAlert, LiteralValue, Reference, RightOperand, Value
from policies.terms import XSD, expand
from vocab.codes import normalise_municipality_code
from vocab.errors import CodeError

ESTAT_SAC = "http://data.e-stat.go.jp/lod/sac/"

_DATETIME_TYPES = frozenset({XSD + "dateTime", XSD + "dateTimeStamp"})
_NUMBER_TYPES = frozenset(
    XSD + t for t in ("decimal", "integer", "double", "float", "int", "long", "nonNegativeInteger")
)
_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)")
_DURATION = re.compile(
    r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
    r"(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?"
)
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_CURRENCY = re.compile(r"[A-Z]{3}")


def items(operand: RightOperand) -> tuple[Value, ...]:
    return operand if isinstance(operand, tuple) else (operand,)


def lexical(value: Value, accepted: frozenset[str] = frozenset()) -> str | None:
    """The text of a plain string, an untyped literal or a literal of an accepted datatype."""
    if isinstance(value, str):
        return value
    if isinstance(value, LiteralValue) and (value.datatype is None or value.datatype in accepted):
        return value.value
    return None


def iri_or_text(value: Value) -> str | None:
    """Strings, IRIs and untyped literals compare as text; known prefixes are expanded so
    `purpose:disaster-response` and its full IRI are the same value."""
    if isinstance(value, Reference):
        return expand(value.iri)
    if isinstance(value, str):
        return expand(value)
    if isinstance(value, LiteralValue) and value.datatype is None and value.language is None:
        return expand(value.value)
    return None


def texts(operand: RightOperand, what: str) -> tuple[str, ...]:
    out = []
    for value in items(operand):
        text = iri_or_text(value)
        if text is None:
            raise InvalidValue(f"{what} must be strings or IRIs, got {show_value(value)}")
        out.append(text)
    return tuple(out)


def parse_datetime(value: Value) -> datetime:
    """An xsd:dateTime *with* a time zone: a date alone or a local time is refused, since
    which instant it names would depend on where the decision is made."""
    text = lexical(value, _DATETIME_TYPES)
    if text is None:
        raise InvalidValue(f"expected an xsd:dateTime, got {show_value(value)}")
    if not _DATETIME.fullmatch(text):
        hint = " (it has no time zone: add Z or +09:00)" if "T" in text else ""
        raise InvalidValue(f"{text!r} is not a date-time with a time zone{hint}")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InvalidValue(f"{text!r} is not a valid date-time") from None


@dataclass(frozen=True, slots=True)
class Duration:
    """An ISO 8601 / xsd:duration. Years and months are calendar units: they are added to an
    instant with the calendar (P1M after 31 January is 28 or 29 February), never as days."""

    text: str
    months: int
    rest: timedelta

    def after(self, start: datetime) -> datetime:
        if self.months:
            month = start.month - 1 + self.months
            year, month = start.year + month // 12, month % 12 + 1
            day = min(start.day, calendar.monthrange(year, month)[1])
            start = start.replace(year=year, month=month, day=day)
        return start + self.rest

    def span(self) -> tuple[timedelta, timedelta]:
        """The shortest and longest this duration can be (months are 28 to 31 days)."""
        years, months = divmod(self.months, 12)
        low = timedelta(days=365 * years + 28 * months) + self.rest
        high = timedelta(days=366 * years + 31 * months) + self.rest
        return low, high


DURATION_TYPES = frozenset({XSD + "duration", XSD + "dayTimeDuration", XSD + "yearMonthDuration"})


def parse_duration(value: Value) -> Duration:
    text = lexical(value, DURATION_TYPES)
    if text is None:
        raise InvalidValue(f"expected an xsd:duration, got {show_value(value)}")
    match = _DURATION.fullmatch(text)
    if not match or text in ("P", "PT") or text.endswith("T"):
        raise InvalidValue(f"{text!r} is not an ISO 8601 duration such as P90D or PT12H")
    y, mo, w, d, h, mi, s = match.groups()
    rest = timedelta(
        weeks=int(w or 0),
        days=int(d or 0),
        hours=int(h or 0),
        minutes=int(mi or 0),
        seconds=float(s or 0),
    )
    return Duration(text, int(y or 0) * 12 + int(mo or 0), rest)


def parse_decimal(value: Value) -> Decimal:
    text = lexical(value, _NUMBER_TYPES)
    if text is None or not _DECIMAL.fullmatch(text.strip()):
        raise InvalidValue(f"expected a decimal number, got {show_value(value)}")
    try:
        return Decimal(text.strip())
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        raise InvalidValue(f"{text!r} is not a number") from None


def parse_currency(unit: str | None) -> str:
    """An ISO 4217 code (`JPY`), also as `urn:iso:std:iso:4217:JPY`."""
    if unit is None:
        raise InvalidValue("payAmount needs a unit: the ISO 4217 currency code, e.g. JPY")
    code = unit.removeprefix("urn:iso:std:iso:4217:")
    if not _CURRENCY.fullmatch(code):
        raise InvalidValue(f"unit {unit!r} is not an ISO 4217 currency code such as JPY")
    return code


# -- places -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Place:
    """A right operand of `spatial`: a municipality, a prefecture, or another region by IRI
    (a river basin, resolved through `policies.geography`)."""

    kind: str  # "municipality" | "prefecture" | "region"
    key: str  # 5-digit code, 2-digit code, or the region's IRI

    def show(self) -> str:
        return self.key


def parse_place(value: Value) -> Place:
    text = iri_or_text(value)
    if text is None:
        raise InvalidValue(f"a place must be a code or an IRI, got {show_value(value)}")
    if text.startswith(ESTAT_SAC + "C"):
        text = text[len(ESTAT_SAC) + 1 :]
    if text.isascii() and text.isdigit():
        if len(text) == 2:
            if not 1 <= int(text) <= 47:
                raise InvalidValue(f"{text!r} is not a prefecture code (01-47)")
            return Place("prefecture", text)
        return Place("municipality", municipality_code(text))
    if ":" not in text:
        raise InvalidValue(f"{text!r} is neither a municipality code, a prefecture code nor an IRI")
    return Place("region", text)


@functools.lru_cache(maxsize=4096)
def municipality_code(text: str) -> str:
    """The 5-digit municipality code, check digit verified when given (vocab.codes)."""
    code = _code(text)
    if code is None:
        try:
            normalise_municipality_code(text)
        except CodeError as exc:
            raise InvalidValue(str(exc)) from None
        raise AssertionError("unreachable: an invalid code normalised the second time")
    return code


@functools.lru_cache(maxsize=4096)  # a requester's code, checked on each of its accesses
def _code(text: str) -> str | None:
    try:
        return normalise_municipality_code(text)[:5]
    except CodeError:
        return None


def show_value(value: Value) -> str:
    if isinstance(value, Reference):
        return value.iri
    if isinstance(value, LiteralValue):
        return repr(value.value) + (f"^^{value.datatype}" if value.datatype else "")
    if isinstance(value, FloodAlert):
        return f"flood alert level {value.level}+ at {value.area}"
    return repr(value)


def show_operand(operand: RightOperand) -> str:
    shown = [show_value(v) for v in items(operand)]
    return shown[0] if len(shown) == 1 else "[" + ", ".join(shown) + "]"
