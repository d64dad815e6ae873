"""The era table: first days, the era of a day (japanera as the oracle), writing dates in it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from japanera import EraDate

from vocab.eras import (
    ERAS,
    GREGORIAN_ADOPTION,
    HEISEI,
    MEIJI,
    REIWA,
    SHOWA,
    TAISHO,
    era_named,
    era_of,
    format_wareki,
)
from vocab.errors import DateError


def test_eras_are_the_five_modern_ones_with_their_first_days() -> None:
    assert [(e.kanji, e.letter, e.first_day, e.offset) for e in ERAS] == [
        ("明治", "M", date(1868, 10, 23), 1867),
        ("大正", "T", date(1912, 7, 30), 1911),
        ("昭和", "S", date(1926, 12, 25), 1925),
        ("平成", "H", date(1989, 1, 8), 1988),
        ("令和", "R", date(2019, 5, 1), 2018),
    ]
    assert [e.last_year for e in ERAS] == [45, 15, 64, 31, None]


def test_the_day_an_emperor_died_is_in_both_eras_and_written_in_the_new_one() -> None:
    for old, new in ((MEIJI, TAISHO), (TAISHO, SHOWA)):
        assert old.contains(new.first_day) and new.contains(new.first_day)
        assert era_of(new.first_day) is new
    assert not HEISEI.contains(REIWA.first_day) and not REIWA.contains(HEISEI.last_day)


@pytest.mark.parametrize(
    ("name", "era"), [("令和", REIWA), ("令", REIWA), ("R", REIWA), ("r", REIWA), ("平成", HEISEI)]
)
def test_eras_are_named_by_kanji_first_kanji_or_letter(name: str, era: object) -> None:
    assert era_named(name) is era


def test_an_unknown_era_name_is_an_error() -> None:
    with pytest.raises(DateError) as caught:
        era_named("慶応")
    assert caught.value.code == "unknown_era"


def test_days_before_the_gregorian_calendar_have_no_era() -> None:
    with pytest.raises(DateError) as caught:
        era_of(date(1872, 12, 31))
    assert caught.value.code == "lunisolar_date"


@pytest.mark.parametrize(
    ("day", "style", "text"),
    [
        (date(2024, 4, 1), "kanji", "令和6年4月1日"),
        (date(2024, 4, 1), "kanji-numerals", "令和六年四月一日"),
        (date(2024, 4, 1), "letter", "R6.4.1"),
        (date(2024, 4, 1), "abbrev", "令6.4.1"),
        (date(2019, 5, 1), "kanji", "令和元年5月1日"),
        (date(2019, 5, 1), "letter", "R1.5.1"),
        (date(1926, 12, 25), "kanji", "昭和元年12月25日"),
    ],
)
def test_dates_are_written_in_their_era(day: date, style: str, text: str) -> None:
    assert format_wareki(day, style) == text  # type: ignore[arg-type]


def test_year_one_is_a_number_without_gannen() -> None:
    assert format_wareki(date(2019, 5, 1), gannen=False) == "令和1年5月1日"


# --- japanera as the oracle -------------------------------------------------------------------

BOUNDARIES = [GREGORIAN_ADOPTION, *(era.first_day for era in ERAS[1:])]
WINDOW = 25


def _window(boundary: date) -> list[date]:
    return [boundary + timedelta(days=n) for n in range(-WINDOW, WINDOW + 1)]


def _oracle_era(day: date) -> tuple[str, int]:
    era = EraDate.from_date(day).era
    return era.kanji, era.absolute_year_to_relative_year(day.year)


@pytest.mark.parametrize("boundary", BOUNDARIES, ids=lambda d: d.isoformat())
def test_the_era_of_a_date_agrees_with_japanera(boundary: date) -> None:
    for day in _window(boundary):
        if day < GREGORIAN_ADOPTION:
            continue  # japanera maps lunisolar Meiji dates by offset; tsunagu refuses them
        era = era_of(day)
        assert (era.kanji, day.year - era.offset) == _oracle_era(day), day
