"""Kanji numerals (漢数字) in dates: 令和六年四月一日, 二〇二四年, 三十一日, 十時三十分."""

from __future__ import annotations

import re

_DIGITS = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_NUMERAL_RUN = re.compile("[〇零一二三四五六七八九十百千]+")


def kanji_to_int(text: str) -> int:
    """Read one run of kanji numerals.

    Runs with 十/百/千 are positional (二千二十四 = 2024, 十 = 10); runs without are
    written digit by digit (二〇二四 = 2024), as years often are.
    """
    if not text or any(ch not in _DIGITS and ch not in _UNITS for ch in text):
        raise ValueError(f"not a kanji numeral: {text!r}")
    if not any(ch in _UNITS for ch in text):
        return int("".join(str(_DIGITS[ch]) for ch in text))
    total = 0
    pending = 0
    for ch in text:
        if ch in _DIGITS:
            pending = pending * 10 + _DIGITS[ch]
        else:
            total += (pending or 1) * _UNITS[ch]
            pending = 0
    return total + pending


def replace_kanji_numerals(text: str) -> str:
    """Replace every run of kanji numerals in `text` by its Arabic digits."""
    return _NUMERAL_RUN.sub(lambda m: str(kanji_to_int(m.group(0))), text)


def int_to_kanji(value: int) -> str:
    """Write 1..9999 positionally in kanji (31 -> 三十一), the form dates use."""
    if not 0 < value < 10000:
        raise ValueError(f"out of range for kanji dates: {value}")
    digits = "〇一二三四五六七八九"
    parts = []
    for unit, sign in ((1000, "千"), (100, "百"), (10, "十")):
        count, value = divmod(value, unit)
        if count:
            parts.append(("" if count == 1 else digits[count]) + sign)
    if value:
        parts.append(digits[value])
    return "".join(parts)
