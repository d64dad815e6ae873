"""Reading 和暦 and Gregorian dates: notations, era boundaries, japanera as an oracle, round
trips through the era formatter."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from japanera import EraDate

from vocab.dates import parse_date, parse_fiscal_year, parse_time_of_day
from vocab.eras import ERAS, GREGORIAN_ADOPTION, format_wareki
from vocab.errors import DateError

SYMBOLS = {"明治": "㍾", "大正": "㍽", "昭和": "㍼", "平成": "㍻", "令和": "㋿"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("令和6年4月1日", "2024-04-01"),
        ("令和６年４月１日", "2024-04-01"),
        ("令和六年四月一日", "2024-04-01"),
        ("令和元年5月1日", "2019-05-01"),
        ("令和01年5月1日", "2019-05-01"),
        ("R6.4.1", "2024-04-01"),
        ("R06.04.01", "2024-04-01"),
        ("R6/4/1", "2024-04-01"),
        ("R6-4-1", "2024-04-01"),
        ("r6.4.1", "2024-04-01"),
        ("Ｒ６．４．１", "2024-04-01"),
        ("㋿6.4.1", "2024-04-01"),
        ("㍻31年4月30日", "2019-04-30"),
        ("H31.4.30", "2019-04-30"),
        ("平成31年4月30日", "2019-04-30"),
        ("S64.1.7", "1989-01-07"),
        ("昭和64年1月7日", "1989-01-07"),
        ("令6.4.1", "2024-04-01"),
        ("平31.4.30", "2019-04-30"),
        ("平成三十一年四月三十日", "2019-04-30"),
        ("令和6年4月1日（月）", "2024-04-01"),
        ("T1.7.30", "1912-07-30"),
        ("M6.1.1", "1873-01-01"),
        ("2024年4月1日", "2024-04-01"),
        ("2024/4/1", "2024-04-01"),
        ("20240401", "2024-04-01"),
        ("二〇二四年四月一日", "2024-04-01"),
    ],
)
def test_dates_in_every_notation(text: str, expected: str) -> None:
    parsed = parse_date(text)
    assert parsed.isoformat() == expected
    assert not parsed.has_time
    assert parsed.warnings == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("令和6年9月1日 9時10分", "2024-09-01T09:10:00+09:00"),
        ("令和6年9月1日9時10分30秒", "2024-09-01T09:10:30+09:00"),
        ("R6.9.1 09:10", "2024-09-01T09:10:00+09:00"),
        ("R6.9.1 9:05:07", "2024-09-01T09:05:07+09:00"),
        ("令和6年9月1日 午後3時", "2024-09-01T15:00:00+09:00"),
        ("令和6年9月1日 午前12時", "2024-09-01T00:00:00+09:00"),
        ("令和六年九月一日 十時三十分", "2024-09-01T10:30:00+09:00"),
        ("R6.9.1 24:00", "2024-09-02T00:00:00+09:00"),
        ("2024-09-01T09:10:00+09:00", "2024-09-01T09:10:00+09:00"),
        ("2024-09-01T00:10:00Z", "2024-09-01T09:10:00+09:00"),
        ("2024-09-01T09:10", "2024-09-01T09:10:00+09:00"),
        ("2024-09-01 09:10:00.5", "2024-09-01T09:10:00.500000+09:00"),
        ("20240901T0910", "2024-09-01T09:10:00+09:00"),
        ("2024/9/1 9:10 +0000", "2024-09-01T18:10:00+09:00"),
    ],
)
def test_date_times_become_iso_8601_in_japan_time(text: str, expected: str) -> None:
    parsed = parse_date(text)
    assert parsed.has_time
    assert parsed.isoformat() == expected
    assert parsed.iso == expected


def test_a_time_without_offset_is_placed_in_the_given_zone() -> None:

    parsed = parse_date("2024-09-01 00:10", tz=UTC)
    assert parsed.iso == "2024-09-01T09:10:00+09:00"


def test_a_date_without_time_is_midnight_when_a_date_time_is_needed() -> None:
    assert parse_date("R6.9.1").isoformat(with_time=True) == "2024-09-01T00:00:00+09:00"


@pytest.mark.parametrize(
    ("text", "gregorian"),
    [
        ("平成31年5月1日", "2019-05-01"),
        ("令和1年4月30日", "2019-04-30"),
        ("令和元年4月30日", "2019-04-30"),
        ("昭和64年1月8日", "1989-01-08"),
        ("平成32年1月1日", "2020-01-01"),
        ("大正16年1月1日", "1927-01-01"),
        ("H31.5.1 10:00", "2019-05-01"),
    ],
)
def test_dates_outside_their_era_fail_strictly_and_warn_leniently(
    text: str, gregorian: str
) -> None:
    with pytest.raises(DateError) as caught:
        parse_date(text, strict=True)
    assert caught.value.code == "date_outside_era"
    lenient = parse_date(text, strict=False)
    assert lenient.value.date().isoformat() == gregorian
    assert [w.code for w in lenient.warnings] == ["date_outside_era"]


def test_the_day_an_emperor_died_belongs_to_both_eras() -> None:
    assert parse_date("明治45年7月30日").isoformat() == "1912-07-30"
    assert parse_date("大正元年7月30日").isoformat() == "1912-07-30"
    assert parse_date("大正15年12月25日").isoformat() == "1926-12-25"
    assert parse_date("昭和元年12月25日").isoformat() == "1926-12-25"
    assert format_wareki(date(1912, 7, 30)) == "大正元年7月30日"
    with pytest.raises(DateError):
        parse_date("明治45年7月31日")


def test_meiji_dates_before_the_gregorian_calendar_are_lunisolar() -> None:
    with pytest.raises(DateError) as caught:
        parse_date("明治5年12月2日")
    assert caught.value.code == "lunisolar_date"
    lenient = parse_date("明治5年12月2日", strict=False)
    assert [w.code for w in lenient.warnings] == ["lunisolar_date"]
    with pytest.raises(DateError) as formatting:
        format_wareki(date(1872, 12, 31))
    assert formatting.value.code == "lunisolar_date"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("令和6年2月30日", "nonexistent_date"),
        ("令和0年1月1日", "invalid_date"),
        ("R6.9.1 25:00", "invalid_time"),
        ("R6.9.1 9:60", "invalid_time"),
        ("来年の春", "invalid_date"),
        ("", "invalid_date"),
        ("令和6年度", "fiscal_year_not_date"),
    ],
)
def test_unreadable_dates_are_errors_in_both_modes(text: str, code: str) -> None:
    for strict in (True, False):
        with pytest.raises(DateError) as caught:
            parse_date(text, strict=strict)
        assert caught.value.code == code


@pytest.mark.parametrize(
    ("text", "interval"),
    [
        ("令和6年度", "2024-04-01/2025-03-31"),
        ("R6年度", "2024-04-01/2025-03-31"),
        ("令和元年度", "2019-04-01/2020-03-31"),
        ("平成31年度", "2019-04-01/2020-03-31"),
        ("２０２４年度", "2024-04-01/2025-03-31"),
        ("平成三十年度", "2018-04-01/2019-03-31"),
    ],
)
def test_fiscal_years_run_april_to_march(text: str, interval: str) -> None:
    assert parse_fiscal_year(text).isoformat() == interval


def test_a_fiscal_year_must_overlap_its_era() -> None:
    with pytest.raises(DateError) as caught:
        parse_fiscal_year("平成32年度")
    assert caught.value.code == "date_outside_era"
    lenient = parse_fiscal_year("平成32年度", strict=False)
    assert lenient.year == 2020 and [w.code for w in lenient.warnings] == ["date_outside_era"]


@pytest.mark.parametrize(
    ("text", "clock"),
    [
        ("9時10分", "09:10:00"),
        ("午後3時", "15:00:00"),
        ("09:10:30", "09:10:30"),
        ("午前12時", "00:00:00"),
    ],
)
def test_a_time_of_day_reads_on_its_own(text: str, clock: str) -> None:
    assert parse_time_of_day(text).text == clock


def test_24_00_is_the_start_of_the_next_day() -> None:
    end = parse_time_of_day("24:00")
    assert (end.hour, end.next_day) == (0, True)


@pytest.mark.parametrize("text", ["25:00", "9時61分", "来年"])
def test_what_is_no_time_of_day_is_an_error(text: str) -> None:
    with pytest.raises(DateError) as caught:
        parse_time_of_day(text)
    assert caught.value.code == "invalid_time"


# --- japanera as the oracle -------------------------------------------------------------------

ERA_STARTS = [era.first_day for era in ERAS[1:]]
WINDOW = 25


def _window(boundary: date) -> list[date]:
    return [boundary + timedelta(days=n) for n in range(-WINDOW, WINDOW + 1)]


def _japanera_accepts(text: str, day: date) -> bool:
    try:
        found = EraDate.strptime(text, "%-K%-y年%m月%d日")
    except ValueError:
        return False
    return any(candidate.to_date() == day for candidate in found)


@pytest.mark.parametrize("boundary", ERA_STARTS, ids=lambda d: d.isoformat())
def test_strict_parsing_agrees_with_japanera_at_every_boundary(boundary: date) -> None:
    """Each day near a boundary, written in the era before and the era after: tsunagu and
    japanera accept and reject the same texts, except the documented overlap day."""
    after = next(e for e in ERAS if e.first_day == boundary)
    before = ERAS[ERAS.index(after) - 1]
    checked = 0
    for day in _window(boundary):
        for era in (before, after):
            year = day.year - era.offset
            if year < 1:
                continue
            text = f"{era.kanji}{year}年{day.month}月{day.day}日"
            try:
                ours = parse_date(text, strict=True).value.date() == day
            except DateError:
                ours = False
            theirs = _japanera_accepts(text, day)
            if era is before and day == before.last_day == after.first_day:
                # 明治45年7月30日 and 大正15年12月25日: the old era's name is still valid on the
                # day the new era began; japanera ends the old era the day before.
                assert ours and not theirs, text
            else:
                assert ours == theirs, text
            checked += 1
    assert checked > len(_window(boundary))  # both eras were tried wherever they exist


# --- round trips ------------------------------------------------------------------------------

modern_days = st.dates(min_value=GREGORIAN_ADOPTION, max_value=date(2200, 12, 31))
styles = st.sampled_from(["kanji", "kanji-numerals", "letter", "abbrev"])


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


@settings(max_examples=200)
@given(modern_days, styles)
def test_formatting_then_parsing_gives_the_same_day(day: date, style: str) -> None:
    text = format_wareki(day, style)  # type: ignore[arg-type]
    assert parse_date(text).value.date() == day


@settings(max_examples=100)
@given(modern_days)
def test_full_width_digits_and_era_symbols_read_the_same(day: date) -> None:
    text = format_wareki(day)
    era = text[:2]
    variants = [
        _full_width(text),
        SYMBOLS[era] + text[2:],
        _full_width(format_wareki(day, "letter")),
    ]
    for variant in variants:
        assert unicodedata.normalize("NFKC", variant) != variant or variant == text
        assert parse_date(variant).value.date() == day


@settings(max_examples=100)
@given(modern_days, st.integers(0, 23), st.integers(0, 59), st.booleans())
def test_date_times_round_trip_through_iso(day: date, hour: int, minute: int, kanji: bool) -> None:
    clock = f"{hour}時{minute}分" if kanji else f"{hour:02d}:{minute:02d}"
    parsed = parse_date(f"{format_wareki(day)} {clock}")
    expected = datetime(day.year, day.month, day.day, hour, minute)
    assert parsed.value.replace(tzinfo=None) == expected
    assert datetime.fromisoformat(parsed.iso).replace(tzinfo=None) == expected
    assert parsed.iso.endswith("+09:00")
