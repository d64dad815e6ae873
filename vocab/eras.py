"""The Japanese eras (元号) from Meiji on: which era a day is written in, and writing it so.

Taishō and Shōwa began on the day the previous emperor died, so that day belongs to both eras
(明治45年7月30日 = 大正元年7月30日); a day is written in the new era. Japan used the
lunisolar calendar until 明治5年12月2日: Gregorian days before 明治6年 (1873) have no era
date here. Reading era dates from text is `vocab.dates`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from vocab.errors import DateError
from vocab.numerals import int_to_kanji

GREGORIAN_ADOPTION = date(1873, 1, 1)
"""明治6年1月1日: the first day of the Gregorian calendar in Japan."""

WarekiStyle = Literal["kanji", "kanji-numerals", "letter", "abbrev"]


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

    def contains(self, day: date) -> bool:
        """Whether `day` may be written in this era (both eras on an overlap day)."""
        return day >= self.first_day and (self.last_day is None or day <= self.last_day)


MEIJI = Era("明治", "Meiji", "M", date(1868, 10, 23), date(1912, 7, 30))
TAISHO = Era("大正", "Taishō", "T", date(1912, 7, 30), date(1926, 12, 25))
SHOWA = Era("昭和", "Shōwa", "S", date(1926, 12, 25), date(1989, 1, 7))
HEISEI = Era("平成", "Heisei", "H", date(1989, 1, 8), date(2019, 4, 30))
REIWA = Era("令和", "Reiwa", "R", date(2019, 5, 1), None)
ERAS: tuple[Era, ...] = (MEIJI, TAISHO, SHOWA, HEISEI, REIWA)

_BY_NAME: dict[str, Era] = {}
for _era in ERAS:
    _BY_NAME[_era.kanji] = _era
    _BY_NAME[_era.kanji[0]] = _era
    _BY_NAME[_era.letter] = _era


def era_named(name: str) -> Era:
    """The era written as 令和, 令 or R (any case)."""
    era = _BY_NAME.get(name.upper() if name.isascii() else name)
    if era is None:
        raise DateError(f"{name!r} is not an era from Meiji on", code="unknown_era")
    return era


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


def format_wareki(day: date, style: WarekiStyle = "kanji", *, gannen: bool = True) -> str:
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
