"""YAML authoring: names an operator knows become vocabulary IRIs; mistakes name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.authoring import load_yaml
from catalog.errors import CatalogError, UnknownTerm
from catalog.model import CONTINUOUS, DIRECT, Text
from tests.catalog.support import BASIN, SAC, THEME

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "catalog" / "a-city.yaml"

MINIMAL = """
catalog:
  id: urn:cat
  participant: did:web:b-town.example
  service: {id: urn:svc, endpoint: https://b-town.example/dsp}
datasets:
  - id: urn:ds
    title: {ja: 中流大橋 水位, en: Churyu Bridge water level}
    themes: [%s]
    places: [%s]
    measures: [{property: water-level, unit: %s}]
    formats: [HttpData-PULL]
    offers: [{"@id": "urn:offer", "@type": Offer, permission: [{action: use}]}]
"""


def test_the_example_reads_into_the_model() -> None:
    catalog = load_yaml(EXAMPLE.read_text("utf-8"))
    [dataset] = catalog.datasets
    assert dataset.themes == (THEME + "river-water-level",)  # written as the label 河川水位
    assert dataset.spatial == (SAC + "C20215", BASIN)
    assert dataset.accrual_periodicity == CONTINUOUS and dataset.temporal_resolution == "PT10M"
    assert Text("上流橋 河川水位", "ja") in dataset.title
    assert Text("河川", "ja") in dataset.keywords
    assert dataset.formats == ("HttpData-PULL", "HttpData-PUSH")
    assert dataset.serving_mode == DIRECT
    assert dataset.distributions[0].access_service == catalog.services[0].id
    assert dataset.measures[0].unit == "http://qudt.org/vocab/unit/M"
    assert dataset.in_series == (catalog.series[0].id,)
    assert dataset.offers[0].uid == "urn:tsunagu:offer:a:basin-disaster-response"


@pytest.mark.parametrize(
    ("theme", "place", "unit", "code", "field"),
    [
        ("噴火", "203831", "m", "unknown_theme", "datasets[0].themes"),
        ("rainfall", "203832", "m", "unknown_place", "datasets[0].places"),
        ("rainfall", "203831", "furlong", "unknown_unit", "datasets[0].measures[0].unit"),
    ],
)
def test_unknown_names_are_refused_naming_the_field(
    theme: str, place: str, unit: str, code: str, field: str
) -> None:
    with pytest.raises(UnknownTerm) as caught:
        load_yaml(MINIMAL % (theme, place, unit))
    assert caught.value.code == code and str(caught.value).startswith(field)


def test_broken_documents_have_codes() -> None:
    for text, code in (
        ("catalog: [", "invalid_yaml"),
        ("- 1", "invalid_field"),
        (
            MINIMAL.replace("formats: [HttpData-PULL]", "mode: sometimes")
            % ("rainfall", "203831", "m"),
            "unknown_mode",
        ),
        (
            MINIMAL.replace('"@type": Offer', '"@type": Agreement') % ("rainfall", "203831", "m"),
            "invalid_policy",
        ),
    ):
        with pytest.raises(CatalogError) as caught:
            load_yaml(text)
        assert caught.value.code == code, text
