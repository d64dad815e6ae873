"""`parse_date` with bounded caches, for converting many rows with repeated timestamps."""

from __future__ import annotations

from datetime import tzinfo

from vocab.dates import JST, ParsedDate, TimeOfDay, on_day, parse_date, parse_time_of_day
from vocab.errors import DateError


class DateParser:
    """Answers exactly as `parse_date`, from caches where it can.

    Besides whole texts it caches the date and the time of ``<date> <time>`` texts separately
    (令和6年9月1日 / 9時10分): a source with readings every ten minutes repeats each date 144
    times, so a new timestamp usually costs two dictionary lookups instead of a full parse.
    """

    def __init__(self, *, strict: bool, tz: tzinfo = JST, cache_size: int = 65_536) -> None:
        self.strict = strict
        self.tz = tz
        self._cache: dict[str, ParsedDate | DateError] = {}
        self._days: dict[str, ParsedDate | DateError | None] = {}
        self._clocks: dict[str, TimeOfDay | None] = {}
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
                return on_day(day.value.date(), clock, self.tz, day.era, day.warnings)
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

    def _clock(self, text: str) -> TimeOfDay | None:
        """The time part alone; None when the general parser should judge the whole text."""
        if text not in self._clocks:
            try:
                clock: TimeOfDay | None = parse_time_of_day(text)
            except DateError:
                clock = None
            self._clocks[text] = clock
        return self._clocks[text]
