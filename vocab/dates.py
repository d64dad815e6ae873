"""Reading dates written in Japan (和暦 or Gregorian) as ISO 8601 in Japan time.

Accepted forms, after NFKC normalisation (full-width digits, ㋿/㍻ era symbols) and
kanji numerals: 令和6年4月1日, 令和元年5月1日, 令和六年四月一日, R6.4.1, r06/04/01, 令6.4.1,
each with an optional time (9時10分, 午後3時, 09:10:30, 24:00) and weekday (（月）);
Gregorian 2024年4月1日, 2024/4/1, 20240401 and ISO 8601 with or without an offset; fiscal
years (令和6年度, 2024年度) separately.

Boundary policy: a date outside its era (平成31年5月1日, 令和元年4月30日, 昭和64年1月8日)
is an error when strict, and converted by the era's year offset with a warning when lenient;
the day an emperor died is valid in both eras (see `vocab.eras`). Meiji dates before 明治6年
(1873) are lunisolar and cannot be mapped by offset: strict mode rejects them, lenient mode
converts by offset and warns.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import NamedTuple

from vocab.eras import GREGORIAN_ADOPTION, MEIJI, Era, era_named, format_wareki
from vocab.errors import DateError
from vocab.numerals import replace_kanji_numerals

JST = timezone(timedelta(hours=9))

_ERA = r"(?P<era>明治|大正|昭和|平成|令和|[明大昭平令MTSHR])\s*(?P<eyear>\d{1,3}|元)"
_DATE_TAIL = r"\s*(?:年|[./-])\s*(?P<month>\d{1,2})\s*(?:月|[./-])\s*(?P<day>\d{1,2})\s*日?"
_ZONE = r"\s*(?P<zone>Z|[+-]\d{2}:?\d{2})?"
_CLOCK = (
    r"(?P<ampm>午前|午後|AM|PM)?\s*(?P<hour>\d{1,2})\s*(?::|時)"
    r"\s*(?:(?P<minute>\d{1,2})\s*分?\s*(?::?\s*(?P<second>\d{1,2}(?:\.\d+)?)\s*秒?)?)?"
)
_TIME_ONLY = re.compile("^" + _CLOCK + _ZONE + "$", re.IGNORECASE)
_TIME = r"(?:(?:\s*T\s*|\s+|(?<=日))" + _CLOCK + ")?"
_ERA_DATE = re.compile("^" + _ERA + _DATE_TAIL + _TIME + _ZONE + "$", re.IGNORECASE)
_GREGORIAN_DATE = re.compile(r"^(?P<year>\d{4})" + _DATE_TAIL + _TIME + _ZONE + "$", re.IGNORECASE)
_COMPACT_DATE = re.compile(
    r"^(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})"
    r"(?:T?(?P<hour>\d{2})(?P<minute>\d{2})(?P<second>\d{2})?)?" + _ZONE + "$",
    re.IGNORECASE,
)
_FISCAL_YEAR = re.compile(r"^(?:" + _ERA + r"|(?P<year>\d{4}))\s*年度$", re.IGNORECASE)
_WEEKDAY = re.compile(r"\s*\((?:月|火|水|木|金|土|日)(?:曜日?)?\)")
_SPACES = re.compile(r"\s+")


class ParsedDate(NamedTuple):
    """A date or date-time read from text, always in Japan time (+09:00).

    Build it with `ParsedDate.of`, which also renders the ISO forms once: converters reuse them
    for every row that carries the same text.
    """

    value: datetime
    has_time: bool
    era: Era | None
    warnings: tuple[DateError, ...]
    iso: str
    """``value`` in ISO 8601 extended format with +09:00."""
    basic: str
    """Local date-time in ISO 8601 basic format without offset (20240901T091000), for IRIs."""

    @classmethod
    def of(
        cls,
        value: datetime,
        has_time: bool,
        era: Era | None = None,
        warnings: tuple[DateError, ...] = (),
        iso: str | None = None,
    ) -> ParsedDate:
        """`iso` may be passed when the caller already has it (datetime.isoformat is slow)."""
        if iso is None:
            iso = value.isoformat()
        basic = iso[:19].replace("-", "").replace(":", "")
        return cls(value, has_time, era, warnings, iso, basic)

    def isoformat(self, *, with_time: bool | None = None) -> str:
        """ISO 8601: a date-time with +09:00, or a plain date when there was no time."""
        if with_time is False or (with_time is None and not self.has_time):
            return self.value.date().isoformat()
        return self.iso


@dataclass(frozen=True, slots=True)
class FiscalYear:
    """A Japanese fiscal year (年度), April to March."""

    year: int
    warnings: tuple[DateError, ...] = ()

    @property
    def start(self) -> date:
        return date(self.year, 4, 1)

    @property
    def end(self) -> date:
        return date(self.year + 1, 3, 31)

    def isoformat(self) -> str:
        """The ISO 8601 interval ``YYYY-04-01/YYYY+1-03-31``."""
        return f"{self.start.isoformat()}/{self.end.isoformat()}"


@dataclass(frozen=True, slots=True)
class TimeOfDay:
    """A time of day as read, before it is put on a date."""

    hour: int
    minute: int
    second: int
    microsecond: int
    next_day: bool
    """24:00 is the end of the day: 00:00 of the next one."""
    zone: str | None
    text: str
    """hh:mm:ss when there is no fraction of a second, else ''."""
    basic: str
    """hhmmss, likewise."""


def normalise(text: str) -> str:
    """NFKC, kanji numerals to digits, weekday marks dropped, spaces collapsed."""
    text = unicodedata.normalize("NFKC", text).strip()
    text = _WEEKDAY.sub("", text)
    text = replace_kanji_numerals(text)
    return _SPACES.sub(" ", text)


def parse_date(text: str, *, strict: bool = True, tz: tzinfo = JST) -> ParsedDate:
    """Read a 和暦 or Gregorian date or date-time; `tz` places a time written without an offset.

    Raises `DateError` with code ``invalid_date``, ``nonexistent_date``, ``invalid_time``,
    ``date_outside_era`` or ``lunisolar_date`` (the last two only when `strict`).
    """
    original = text
    if len(text) >= 16 and text[4] == "-" and text[10] in "T ":
        # Fast path for ISO 8601 date-times, the form most systems already send.
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            if len(text) == 25 and text[10] == "T" and text.endswith("+09:00"):
                return ParsedDate.of(parsed, True, iso=text)  # already the output form
            return ParsedDate.of(_to_japan_time(parsed, tz), True)
    text = normalise(text)
    match = _ERA_DATE.match(text)
    if match:
        era = era_named(match.group("era"))
        year = 1 if match.group("eyear") == "元" else int(match.group("eyear"))
        day, warnings = _era_day(
            era, year, int(match.group("month")), int(match.group("day")), original, strict
        )
        return _with_time(day, match, tz, original, era, warnings)
    match = _GREGORIAN_DATE.match(text) or _COMPACT_DATE.match(text)
    if match:
        day = _calendar_day(int(match.group("year")), match, original)
        return _with_time(day, match, tz, original, None, ())
    if _FISCAL_YEAR.match(text):
        raise DateError(
            f"{original!r} is a fiscal year (年度), not a date; map it as a fiscal year",
            code="fiscal_year_not_date",
        )
    raise DateError(f"{original!r} is not a date this converter can read", code="invalid_date")


def parse_fiscal_year(text: str, *, strict: bool = True) -> FiscalYear:
    """Read 令和6年度 / R6年度 / 2024年度. An era fiscal year is valid if it overlaps its era."""
    original = text
    match = _FISCAL_YEAR.match(normalise(text))
    if not match:
        raise DateError(f"{original!r} is not a fiscal year (年度)", code="invalid_fiscal_year")
    if match.group("year"):
        return FiscalYear(int(match.group("year")))
    era = era_named(match.group("era"))
    era_year = 1 if match.group("eyear") == "元" else int(match.group("eyear"))
    if era_year < 1:
        raise DateError(f"{original!r}: era years start at 1", code="invalid_fiscal_year")
    fiscal = FiscalYear(era.offset + era_year)
    if fiscal.end < era.first_day or (era.last_day is not None and fiscal.start > era.last_day):
        problem = DateError(
            f"{original!r}: fiscal year {fiscal.isoformat()} does not overlap {era.kanji}",
            code="date_outside_era",
        )
        if strict:
            raise problem
        return FiscalYear(fiscal.year, (problem,))
    return fiscal


def parse_time_of_day(text: str) -> TimeOfDay:
    """Read a time on its own (9時10分, 午後3時, 09:10:30, 24:00, with an optional offset)."""
    match = _TIME_ONLY.match(normalise(text))
    if match is None:
        raise DateError(f"{text!r} is not a time of day", code="invalid_time")
    return _time_of_day(match, text)


def on_day(
    day: date, clock: TimeOfDay, tz: tzinfo, era: Era | None, warnings: tuple[DateError, ...]
) -> ParsedDate:
    """`clock` on `day`, in Japan time; `tz` places a time written without an offset."""
    zone = _zone(clock.zone, tz)
    local = datetime(
        day.year,
        day.month,
        day.day,
        clock.hour,
        clock.minute,
        clock.second,
        clock.microsecond,
        tzinfo=zone,
    )
    if clock.next_day:
        local += timedelta(days=1)
    elif zone == JST and clock.text:
        return ParsedDate.of(
            local, True, era, warnings, iso=f"{day.isoformat()}T{clock.text}+09:00"
        )
    return ParsedDate.of(local.astimezone(JST), True, era, warnings)


def _era_day(
    era: Era, year: int, month: int, day: int, original: str, strict: bool
) -> tuple[date, tuple[DateError, ...]]:
    if year < 1:
        raise DateError(f"{original!r}: era years start at 1 (元年)", code="invalid_date")
    result = _checked_date(era.offset + year, month, day, original)
    problem: DateError | None = None
    if era is MEIJI and result < GREGORIAN_ADOPTION:
        problem = DateError(
            f"{original!r} is a lunisolar-calendar date (before 明治6年); "
            f"converting by year offset gives {result.isoformat()}, which is not the same day",
            code="lunisolar_date",
        )
    elif not era.contains(result):
        span = f"from {era.first_day.isoformat()}"
        if era.last_day is not None:
            span += f" to {era.last_day.isoformat()}"
        problem = DateError(
            f"{original!r} is outside {era.kanji} ({span}); "
            f"by year offset it is {result.isoformat()} ({format_wareki(result)})",
            code="date_outside_era",
        )
    if problem is None:
        return result, ()
    if strict:
        raise problem
    return result, (problem,)


def _calendar_day(year: int, match: re.Match[str], original: str) -> date:
    return _checked_date(year, int(match.group("month")), int(match.group("day")), original)


def _checked_date(year: int, month: int, day: int, original: str) -> date:
    try:
        return date(year, month, day)
    except ValueError as error:
        raise DateError(
            f"{original!r} is not a calendar date: {error}", code="nonexistent_date"
        ) from None


def _time_of_day(match: re.Match[str], original: str) -> TimeOfDay:
    hour = int(match.group("hour"))
    minute = int(match.group("minute") or 0)
    second = float(match.group("second") or "0")
    ampm = (match.groupdict().get("ampm") or "").upper()
    if ampm in ("午後", "PM") and hour < 12:
        hour += 12
    elif ampm in ("午前", "AM") and hour == 12:
        hour = 0
    next_day = False
    if hour == 24 and minute == 0 and second == 0:
        # Hydrological tables write the end of a day as 24:00.
        hour, next_day = 0, True
    if not (0 <= hour < 24 and 0 <= minute < 60 and 0 <= second < 60):
        raise DateError(f"{original!r} has an impossible time of day", code="invalid_time")
    whole = int(second)
    micro = round((second - whole) * 1_000_000)
    text = "" if micro else f"{hour:02d}:{minute:02d}:{whole:02d}"
    return TimeOfDay(
        hour, minute, whole, micro, next_day, match.group("zone"), text, text.replace(":", "")
    )


def _with_time(
    day: date,
    match: re.Match[str],
    tz: tzinfo,
    original: str,
    era: Era | None,
    warnings: tuple[DateError, ...],
) -> ParsedDate:
    if match.group("hour") is None:
        midnight = datetime(day.year, day.month, day.day, tzinfo=JST)
        return ParsedDate.of(midnight, False, era, warnings)
    return on_day(day, _time_of_day(match, original), tz, era, warnings)


def _zone(text: str | None, default: tzinfo) -> tzinfo:
    if not text:
        return default
    if text.upper() == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def _to_japan_time(value: datetime, tz: tzinfo) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value if value.tzinfo == JST else value.astimezone(JST)
