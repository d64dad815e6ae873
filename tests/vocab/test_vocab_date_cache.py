"""The caching date parser answers exactly as parse_date, and keeps its caches bounded."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vocab.date_cache import DateParser
from vocab.dates import parse_date
from vocab.eras import HEISEI, REIWA, format_wareki
from vocab.errors import DateError


@settings(max_examples=150)
@given(
    st.dates(min_value=date(1989, 1, 1), max_value=date(2030, 12, 31)),
    st.integers(0, 24),
    st.integers(0, 59),
    st.sampled_from(["kanji", "letter"]),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)
def test_the_caching_parser_answers_exactly_as_parse_date(
    day: date,
    hour: int,
    minute: int,
    style: str,
    kanji_time: bool,
    strict: bool,
    in_heisei: bool,
) -> None:
    """DateParser caches dates and times apart; whatever it answers must equal parse_date.
    Times include 24:xx and dates past the end of 平成, so errors and warnings are covered."""
    text = format_wareki(day, style)  # type: ignore[arg-type]
    if in_heisei and day >= REIWA.first_day:
        year = day.year - HEISEI.offset
        text = (
            f"平成{year}年{day.month}月{day.day}日"
            if style == "kanji"
            else f"H{year}.{day.month}.{day.day}"
        )
    text += f" {hour}時{minute}分" if kanji_time else f" {hour:02d}:{minute:02d}"
    parser = DateParser(strict=strict)
    try:
        expected = parse_date(text, strict=strict)
    except DateError as error:
        with pytest.raises(DateError) as caught:
            parser(text)
        assert caught.value.code == error.code
        assert parser.iso_forms(text) is None
        return
    got = parser(text)
    assert (got.value, got.has_time, got.era, got.iso, got.basic) == (
        expected.value,
        expected.has_time,
        expected.era,
        expected.iso,
        expected.basic,
    )
    assert [w.code for w in got.warnings] == [w.code for w in expected.warnings]
    forms = DateParser(strict=strict).iso_forms(text)
    assert forms == (None if expected.warnings else (expected.basic, expected.iso))


@pytest.mark.parametrize(
    "text",
    [
        "令和 6年 9月 1日 9時10分",
        "平成31年5月1日 10:00",
        "R6.9.1 25:00",
        "来年 9時",
        "R6.9.1 09:10 +0900",
    ],
)
@pytest.mark.parametrize("strict", [True, False])
def test_the_caching_parser_falls_back_to_the_full_parser(text: str, strict: bool) -> None:
    try:
        expected: object = parse_date(text, strict=strict).iso
    except DateError as error:
        expected = error.code
    try:
        got: object = DateParser(strict=strict)(text).iso
    except DateError as error:
        got = error.code
    assert got == expected


def test_the_parser_cache_stays_bounded() -> None:
    parser = DateParser(strict=True, cache_size=10)
    for minute in range(60):
        parser(f"R6.9.1 10:{minute:02d}")
    assert len(parser._cache) <= 10
