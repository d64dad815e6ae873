"""Themes, places and units must be the shared vocabulary's: unknown ones are errors."""

from __future__ import annotations

import dataclasses

import pytest

from catalog.errors import UnknownTerm
from catalog.model import Measure
from catalog.terms import (
    basin_municipalities,
    check_terms,
    resolve_place,
    resolve_property,
    resolve_theme,
    resolve_unit,
)
from tests.catalog.support import BASIN, CATALOG, SAC, THEME, WATER_LEVEL

UNIT = "http://qudt.org/vocab/unit/"
PROPERTY = "https://w3id.org/tsunagu/vocab/property/"


def test_the_sample_catalogue_uses_known_terms() -> None:
    check_terms(CATALOG)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"themes": (THEME + "volcano",)}, "unknown_theme"),
        ({"themes": ("tsunami",)}, "unknown_theme"),
        ({"themes": (THEME + "river",)}, "deprecated_theme"),
        ({"spatial": (SAC + "C99101",)}, "unknown_place"),
        ({"spatial": ("https://w3id.org/tsunagu/vocab/basin/nile",)}, "unknown_place"),
        ({"spatial": ("千代田区",)}, "unknown_place"),
        ({"measures": (Measure(PROPERTY + "water-level", UNIT + "FURLONG"),)}, "unknown_unit"),
        ({"measures": (Measure(PROPERTY + "wind-speed", UNIT + "M"),)}, "unknown_property"),
        ({"measures": (Measure(PROPERTY + "water-level", UNIT + "DEG_C"),)}, "incompatible_unit"),
    ],
)
def test_unknown_terms_are_errors_with_codes(change: dict[str, object], code: str) -> None:
    catalog = dataclasses.replace(CATALOG, datasets=(dataclasses.replace(WATER_LEVEL, **change),))
    with pytest.raises(UnknownTerm) as caught:
        check_terms(catalog)
    assert caught.value.code == code
    assert WATER_LEVEL.id in str(caught.value)


def test_a_unit_of_the_same_kind_is_accepted() -> None:
    centimetres = (Measure(PROPERTY + "water-level", UNIT + "CentiM"),)
    check_terms(
        dataclasses.replace(
            CATALOG, datasets=(dataclasses.replace(WATER_LEVEL, measures=centimetres),)
        )
    )


def test_authors_name_themes_by_slug_curie_iri_or_label() -> None:
    iri = THEME + "rainfall"
    assert {
        resolve_theme(t) for t in ("rainfall", "theme:rainfall", iri, "雨量", "Rainfall", "降水量")
    } == {iri}
    with pytest.raises(UnknownTerm) as caught:
        resolve_theme("噴火")
    assert caught.value.code == "unknown_theme"


def test_authors_name_places_by_code_or_basin() -> None:
    assert resolve_place("202151") == SAC + "C20215"
    assert resolve_place("２０２１５") == SAC + "C20215"  # full-width digits
    assert resolve_place("tsunagu-river") == BASIN == resolve_place("basin:tsunagu-river")
    for bad, code in (
        ("202152", "unknown_place"),
        ("991001", "unknown_place"),
        ("amazon", "unknown_place"),
    ):
        with pytest.raises(UnknownTerm) as caught:
            resolve_place(bad)
        assert caught.value.code == code


def test_authors_name_units_and_properties_as_they_write_them() -> None:
    assert resolve_unit("m") == UNIT + "M" == resolve_unit("unit:M")
    assert resolve_unit("mm") == UNIT + "MilliM"
    assert resolve_property("water-level") == PROPERTY + "water-level"
    with pytest.raises(UnknownTerm) as caught:
        resolve_unit("cubits")
    assert caught.value.code == "unknown_unit"
    with pytest.raises(UnknownTerm) as caught:
        resolve_property("wind-speed")
    assert caught.value.code == "unknown_property"


def test_a_basin_lists_its_municipalities_upstream_first() -> None:
    assert basin_municipalities(BASIN) == (SAC + "C20215", SAC + "C20383", SAC + "C20432")
    assert basin_municipalities("https://w3id.org/tsunagu/vocab/basin/nile") == ()
