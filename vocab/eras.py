"""Japanese era dates (和暦) to ISO 8601 and back.

Accepted forms, after NFKC normalisation (full-width digits, ㋿/㍻ era symbols) and
kanji numerals: 令和6年4月1日, 令和元年5月1日, 令和六年四月一日, R6.4.1, r06/04/01, 令6.4.1,
each with an optional time (9時10分, 午後3時, 09:10:30, 24:00) and weekday (（月）);
Gregorian 2024年4月1日, 2024/4/1, 20240401 and ISO 8601 with or without an offset; fiscal
years (令和6年度, 2024年度) separately.

Boundary policy: a date outside its era (平成31年5月1日, 令和元年4月30日, 昭和64年1月8日)
is an error when strict, and converted by the era's year offset with a warning when lenient.
Taishō and Shōwa began on the day the previous emperor died, so that day is valid in both eras
(明治45年7月30日, 大正15年12月25日); formatting uses the new era. Japan used the lunisolar
calendar until 明治5年12月2日, so Meiji dates before 明治6年 (1873) cannot be mapped by offset:
strict mode rejects them, lenient mode converts by offset and warns.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Literal, NamedTuple

from vocab.errors import DateError
from vocab.numerals import int_to_kanji, replace_kanji_numerals

JST = timezone(timedelta(hours=9))
GREGORIAN_ADOPTION = date(1873, 1, 1)
"""明治6年1月1日: the first day of the Gregorian calendar in Japan."""


@dataclass(frozen=True, slots=True)
class Era:
    kanji: str
    romaji: str
    letter: str
    first_day: date
    last_day: date | None
    """Inclusive; for Meiji and Taishō this is also the next era's first day."""

    @property
    def offset(self) -> int:
        """Gregorian year = era year + offset."""
        return self.first_day.year - 1

    @property
    def last_year(self) -> int | None:
        return None if self.last_day is None else self.last_day.year - self.offset


MEIJI = Era("明治", "Meiji", "M", date(1868, 10, 23), date(1912, 7, 30))
TAISHO = Era("大正", "Taishō", "T", date(1912, 7, 30), date(1926, 12, 25))
SHOWA = Era("昭和", "Shōwa", "S", date(1926, 12, 25), date(1989, 1, 7))
HEISEI = Era("平成", "Heisei", "H", date(1989, 1, 8), date(2019, 4, 30))
REIWA = Era("令和", "Reiwa", "R", date(2019, 5, 1), None)
ERAS: tuple[Era, ...] = (MEIJI, TAISHO, SHOWA, HEISEI, REIWA)

_ERA_BY_NAME: dict[str, Era] = {}
for _era in ERAS:
    _ERA_BY_NAME[_era.kanji] = _era
    _ERA_BY_NAME[_era.kanji[0]] = _era
    _ERA_BY_NAME[_era.letter] = _era

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


def normalise(text: str) -> str:
    """NFKC, kanji numerals to digits, weekday marks dropped, spaces collapsed."""
    text = unicodedata.normalize("NFKC", text).strip()
    text = _WEEKDAY.sub("", text)
    text = replace_kanji_numerals(text)
    return _SPACES.sub(" ", text)


def era_of(day: date) -> Era:
    """The era a Gregorian date is written in (the new era on the Taishō and Shōwa overlap days)."""
    if day < GREGORIAN_ADOPTION:
        raise DateError(
            f"{day.isoformat()} is before 1873, when Japan used the lunisolar calendar",
            code="lunisolar_date",
        )
    for era in reversed(ERAS):
        if day >= era.first_day:
            return era
    raise AssertionError("unreachable: Meiji covers every date from 1873")  # pragma: no cover


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
        era = _ERA_BY_NAME[_era_key(match.group("era"))]
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
    era = _ERA_BY_NAME[_era_key(match.group("era"))]
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


def format_wareki(
    day: date,
    style: Literal["kanji", "kanji-numerals", "letter", "abbrev"] = "kanji",
    *,
    gannen: bool = True,
) -> str:
    """Write a Gregorian date in its era.

    ``kanji`` 令和6年4月1日, ``kanji-numerals`` 令和六年四月一日, ``letter`` R6.4.1,
    ``abbrev`` 令6.4.1; year 1 is 元年 in the kanji styles when `gannen`.
    """
    era = era_of(day)
    year = day.year - era.offset
    if style == "letter":
        return f"{era.letter}{year}.{day.month}.{day.day}"
    if style == "abbrev":
        return f"{era.kanji[0]}{year}.{day.month}.{day.day}"
    if style == "kanji-numerals":
        year_text = "元" if year == 1 and gannen else int_to_kanji(year)
        return f"{era.kanji}{year_text}年{int_to_kanji(day.month)}月{int_to_kanji(day.day)}日"
    year_text = "元" if year == 1 and gannen else str(year)
    return f"{era.kanji}{year_text}年{day.month}月{day.day}日"


class DateParser:
    """`parse_date` with bounded caches, for converting many rows with repeated timestamps.

    Besides whole texts it caches the date and the time of ``<date> <time>`` texts separately
    (令和6年9月1日 / 9時10分): a source with readings every ten minutes repeats each date 144
    times, so a new timestamp usually costs two dictionary lookups instead of a full parse.
    """

    def __init__(self, *, strict: bool, tz: tzinfo = JST, cache_size: int = 65_536) -> None:
        self.strict = strict
        self.tz = tz
        self._cache: dict[str, ParsedDate | DateError] = {}
        self._days: dict[str, ParsedDate | DateError | None] = {}
        self._clocks: dict[str, _Clock | None] = {}
        self._cache_size = cache_size
        # Times written without an offset are already Japan time: no conversion needed.
        self._plain_zone = tz == JST

    def __call__(self, text: str) -> ParsedDate:
        hit = self._cache.get(text)
        if hit is None:
            try:
                hit = self._parse(text)
            except DateError as error:
                hit = error
            if len(self._cache) >= self._cache_size:
                # Dropping everything keeps memory flat and costs one refill per cache size.
                self._cache.clear()
                self._days.clear()
                self._clocks.clear()
            self._cache[text] = hit
        if isinstance(hit, DateError):
            raise hit
        return hit

    def iso_forms(self, text: str) -> tuple[str, str] | None:
        """(basic, extended) ISO forms of `text` if it reads cleanly (no warning), else None.

        The same answer as ``parse.basic, parse.iso``, without building objects for the common
        ``<date> <time>`` shape: bulk conversion needs only the two strings.
        """
        date_text, space, time_text = text.partition(" ")
        if space and self._plain_zone:
            try:
                day = self._day(date_text)
            except DateError:
                day = None  # perhaps not a date on its own (令和 6年...): ask the full parser
            clock = self._clocks.get(time_text) or self._clock(time_text)
            if (
                day is not None
                and not day.warnings
                and clock is not None
                and clock.text
                and not clock.next_day
                and clock.zone is None
            ):
                ymd = day.iso[:10]
                return f"{ymd.replace('-', '')}T{clock.basic}", f"{ymd}T{clock.text}+09:00"
        try:
            parsed = self(text)
        except DateError:
            return None
        return None if parsed.warnings else (parsed.basic, parsed.iso)

    def _parse(self, text: str) -> ParsedDate:
        date_text, space, time_text = text.strip().partition(" ")
        if space and time_text:
            try:
                day = self._day(date_text)
            except DateError:
                day = None  # the full parser decides, and words its error for the whole text
            clock = self._clock(time_text) if day is not None else None
            if day is not None and clock is not None:
                return _on_day(day.value.date(), clock, self.tz, day.era, day.warnings)
        return parse_date(text, strict=self.strict, tz=self.tz)

    def _day(self, text: str) -> ParsedDate | None:
        """The date part alone; None when it is not a date without a time."""
        if text not in self._days:
            try:
                parsed: ParsedDate | DateError | None = parse_date(text, strict=self.strict)
            except DateError as error:
                parsed = error
            if isinstance(parsed, ParsedDate) and parsed.has_time:
                parsed = None
            self._days[text] = parsed
        day = self._days[text]
        if isinstance(day, DateError):
            raise day
        return day

    def _clock(self, text: str) -> _Clock | None:
        """The time part alone; None when the general parser should judge the whole text."""
        if text not in self._clocks:
            match = _TIME_ONLY.match(normalise(text))
            try:
                clock = None if match is None else _clock(match, text)
            except DateError:
                clock = None
            self._clocks[text] = clock
        return self._clocks[text]


def _era_key(name: str) -> str:
    return name.upper() if name.isascii() else name


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
    elif result < era.first_day or (era.last_day is not None and result > era.last_day):
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


@dataclass(frozen=True, slots=True)
class _Clock:
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


def _clock(match: re.Match[str], original: str) -> _Clock:
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
    return _Clock(
        hour, minute, whole, micro, next_day, match.group("zone"), text, text.replace(":", "")
    )


def _on_day(
    day: date, clock: _Clock, tz: tzinfo, era: Era | None, warnings: tuple[DateError, ...]
) -> ParsedDate:
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
    return _on_day(day, _clock(match, original), tz, era, warnings)


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
