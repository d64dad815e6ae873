"""Kanji numerals as they appear in dates."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vocab.numerals import int_to_kanji, kanji_to_int, replace_kanji_numerals


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("一", 1),
        ("十", 10),
        ("十一", 11),
        ("二十", 20),
        ("三十一", 31),
        ("百", 100),
        ("二千二十四", 2024),
        ("二〇二四", 2024),
        ("〇", 0),
        ("六十四", 64),
    ],
)
def test_kanji_numerals(text: str, value: int) -> None:
    assert kanji_to_int(text) == value


@given(st.integers(1, 9999))
def test_positional_kanji_round_trip(value: int) -> None:
    assert kanji_to_int(int_to_kanji(value)) == value


def test_only_numeral_runs_are_replaced() -> None:
    assert replace_kanji_numerals("令和六年十二月三十一日") == "令和6年12月31日"


def test_non_numerals_are_rejected() -> None:
    with pytest.raises(ValueError):
        kanji_to_int("六年")
