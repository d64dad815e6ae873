"""Units: field spellings, QUDT factors from the Turtle, conversion arithmetic."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vocab.errors import UnitError
from vocab.units import UnitTable, normalise_spelling
from vocab.vocabulary import Vocabulary

UNIT = "http://qudt.org/vocab/unit/"


@pytest.fixture(scope="module")
def units(vocabulary: Vocabulary) -> UnitTable:
    return vocabulary.units


# Conversion multipliers to the SI unit as QUDT publishes them; the inch and foot are exact
# by definition (1959), the hour is 3600 s.
QUDT_FACTORS = {
    "M": Fraction(1),
    "CentiM": Fraction(1, 100),
    "MilliM": Fraction(1, 1000),
    "KiloM": Fraction(1000),
    "IN": Fraction(254, 10000),
    "FT": Fraction(3048, 10000),
    "M3-PER-SEC": Fraction(1),
    "L-PER-SEC": Fraction(1, 1000),
}


@pytest.mark.parametrize(("name", "factor"), sorted(QUDT_FACTORS.items()))
def test_the_turtle_carries_qudts_multipliers(
    units: UnitTable, name: str, factor: Fraction
) -> None:
    assert units.get(UNIT + name).multiplier == factor


def test_rates_and_temperatures_carry_qudts_multipliers_and_offsets(units: UnitTable) -> None:
    per_hour = units.get(UNIT + "MilliM-PER-HR").multiplier
    assert abs(per_hour - Fraction(1, 1000 * 3600)) < Fraction(1, 10**35)
    fahrenheit = units.get(UNIT + "DEG_F")
    assert abs(fahrenheit.multiplier - Fraction(5, 9)) < Fraction(1, 10**30)
    assert fahrenheit.offset == Fraction("459.67")
    assert units.get(UNIT + "DEG_C").offset == Fraction("273.15")


@pytest.mark.parametrize(
    ("spelling", "unit"),
    [
        ("m", "M"),
        ("メートル", "M"),
        ("ｍ", "M"),
        ("cm", "CentiM"),
        ("センチ", "CentiM"),
        ("㎝", "CentiM"),
        ("mm", "MilliM"),
        ("㎜", "MilliM"),
        ("ミリ", "MilliM"),
        ("inch", "IN"),
        ("in", "IN"),
        ("ft", "FT"),
        ("フィート", "FT"),
        ("mm/h", "MilliM-PER-HR"),
        ("mm/hr", "MilliM-PER-HR"),
        ("ｍｍ／ｈ", "MilliM-PER-HR"),
        ("ミリ毎時", "MilliM-PER-HR"),
        ("m3/s", "M3-PER-SEC"),
        ("m³/s", "M3-PER-SEC"),
        ("㎥/s", "M3-PER-SEC"),
        ("m^3/s", "M3-PER-SEC"),
        ("トン/秒", "M3-PER-SEC"),
        ("L/s", "L-PER-SEC"),
        ("℃", "DEG_C"),
        ("°C", "DEG_C"),
        ("℉", "DEG_F"),
        ("http://qudt.org/vocab/unit/M", "M"),
    ],
)
def test_field_spellings_name_qudt_units(units: UnitTable, spelling: str, unit: str) -> None:
    assert units.lookup(spelling).iri == UNIT + unit


@pytest.mark.parametrize("spelling", ["", "furlong", "cm2", "mmm", "尺"])
def test_an_unknown_unit_is_an_error_never_dropped(units: UnitTable, spelling: str) -> None:
    with pytest.raises(UnitError) as caught:
        units.lookup(spelling)
    assert caught.value.code == "unknown_unit"


@pytest.mark.parametrize(
    ("value", "source", "target", "expected"),
    [
        (362, "cm", "m", 3.62),
        (3620, "mm", "m", 3.62),
        (3.62, "m", "cm", 362.0),
        (1, "inch", "mm", 25.4),
        (1, "ft", "m", 0.3048),
        (10, "ft", "m", 3.048),
        (1, "in/h", "mm/h", 25.4),
        (3600, "m3/h", "m3/s", 1.0),
        (1500, "L/s", "m3/s", 1.5),
        (32, "°F", "°C", 0.0),
        (212, "°F", "°C", 100.0),
        (-40, "°F", "°C", -40.0),
        (0, "°C", "K", 273.15),
        (25, "℃", "℉", 77.0),
    ],
)
def test_conversions(
    units: UnitTable, value: float, source: str, target: str, expected: float
) -> None:
    assert units.convert(value, source, target) == pytest.approx(expected, abs=1e-9)


def test_decimal_ratios_give_the_decimal_the_reader_expects(units: UnitTable) -> None:
    # Multiplying by 0.01 would give 3.6200000000000001; dividing by 100 gives 3.62 exactly.
    assert units.convert(362, "cm", "m") == 3.62
    assert repr(units.convert(318.4, "cm", "m")) == "3.184"
    assert units.convert(4500, "mm", "m") == 4.5


@pytest.mark.parametrize(("source", "target"), [("cm", "mm/h"), ("m", "°C"), ("m3/s", "m")])
def test_different_dimensions_do_not_convert(units: UnitTable, source: str, target: str) -> None:
    with pytest.raises(UnitError) as caught:
        units.convert(1, source, target)
    assert caught.value.code == "incompatible_unit"


def test_an_amount_over_a_period_converts_to_a_rate_and_back(units: UnitTable) -> None:
    mm, mm_h = units.lookup("mm"), units.lookup("mm/h")
    hour, ten_minutes = Fraction(3600), Fraction(600)
    assert units.converter(mm, mm_h, period_seconds=hour)("12.5") == 12.5
    assert units.converter(mm, mm_h, period_seconds=ten_minutes)("2") == 12.0
    assert units.converter(mm_h, mm, period_seconds=ten_minutes)("12") == 2.0


@settings(max_examples=200)
@given(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    st.sampled_from(["m", "cm", "mm", "km", "in", "ft"]),
    st.sampled_from(["m", "cm", "mm", "km", "in", "ft"]),
)
def test_length_conversions_round_trip(value: float, source: str, target: str) -> None:
    from vocab.vocabulary import load_vocabulary

    table = load_vocabulary().units
    there = table.convert(value, source, target)
    assert table.convert(there, target, source) == pytest.approx(value, rel=1e-12, abs=1e-9)


def test_spellings_fold_width_case_and_spaces() -> None:
    assert normalise_spelling(" ＭＭ / ｈ ") == "mm/h"
    assert normalise_spelling("m ** 3 / s") == "m3/s"


def test_two_units_cannot_share_a_spelling(units: UnitTable) -> None:
    metre = units.get(UNIT + "M")
    from dataclasses import replace

    clash = replace(metre, iri=UNIT + "X", spellings=frozenset({"cm"}))
    with pytest.raises(UnitError) as caught:
        UnitTable([units.get(UNIT + "CentiM"), clash])
    assert caught.value.code == "ambiguous_unit"


@pytest.mark.parametrize(("source", "target"), [("cm", "m"), ("in", "mm"), ("°F", "°C")])
@pytest.mark.parametrize("text", ["1/3", "nan", "inf", "-Infinity", "abc", ""])
def test_converters_accept_only_finite_decimal_numerals(
    units: UnitTable, source: str, target: str, text: str
) -> None:
    convert = units.converter(units.lookup(source), units.lookup(target))
    with pytest.raises(ValueError):
        convert(text)


@settings(max_examples=200)
@given(
    st.decimals(min_value=-(10**6), max_value=10**6, places=3, allow_nan=False),
    st.sampled_from([("cm", "m"), ("mm", "m"), ("m", "cm"), ("in", "mm"), ("°F", "°C")]),
)
def test_converted_values_are_the_nearest_double_to_the_exact_result(
    number: object, units_pair: tuple[str, str]
) -> None:
    from decimal import Decimal

    from vocab.vocabulary import load_vocabulary

    table = load_vocabulary().units
    source, target = (table.lookup(u) for u in units_pair)
    text = str(number)
    ratio = Fraction(source.multiplier) / Fraction(target.multiplier)
    exact = (Fraction(Decimal(text)) + source.offset) * ratio - target.offset
    got = table.converter(source, target)(text)
    assert abs(Fraction(got) - exact) <= abs(exact) * Fraction(1, 2**52) + Fraction(1, 10**15)
