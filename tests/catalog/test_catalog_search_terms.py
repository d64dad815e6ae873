"""The pure pieces behind per-requester views, harvesting and search: the DSP filter, theme
and place widening, the index summary of a DSP dataset."""

from __future__ import annotations

from typing import Any

import pytest

from catalog.dsp import dataset_to_json
from catalog.errors import CatalogError
from catalog.filters import fold, parse_filter
from catalog.model import Dataset
from catalog.summary import summarise
from catalog.widening import upstream_of, with_narrower
from tests.catalog.support import BASIN, SAC, THEME, WATER_LEVEL


def _dataset() -> Dataset:
    return WATER_LEVEL


def test_filter_matches_every_condition() -> None:
    d = _dataset()
    assert parse_filter([{"keyword": "水位"}]).matches(d)
    assert parse_filter([{"keyword": "ＷＡＴＥＲ"}]).matches(d)  # full width, upper case
    assert parse_filter(
        [{"theme": THEME + "river-water-level", "spatial": SAC + "C20215"}]
    ).matches(d)
    assert parse_filter([{"spatial": [SAC + "C13101", BASIN]}]).matches(d)  # any of a list
    assert not parse_filter([{"keyword": "水位"}, {"theme": THEME + "rainfall"}]).matches(d)
    assert parse_filter([{"id": d.id}, {"format": "HttpData-PULL"}]).matches(d)
    assert not parse_filter(None) and not parse_filter([])


@pytest.mark.parametrize(
    "bad", [[{"colour": "red"}], [{"keyword": 3}], [{}], ["水位"], [{"theme": []}]]
)
def test_filter_refuses_what_it_does_not_understand(bad: Any) -> None:
    with pytest.raises(CatalogError) as caught:
        parse_filter(bad)
    assert caught.value.code == "unsupported_filter"


def test_fold_is_width_and_case_insensitive() -> None:
    assert fold("ＡＢＣ ｶﾀｶﾅ") == fold("abc カタカナ")


def test_theme_widens_to_narrower_concepts() -> None:
    flood = with_narrower(THEME + "flood")
    assert flood[0] == THEME + "flood"
    assert {THEME + "river-water-level", THEME + "rainfall"} <= set(flood)
    assert with_narrower(THEME + "rainfall") == (THEME + "rainfall",)


def test_near_a_village_means_what_lies_upstream() -> None:
    c_village = upstream_of(SAC + "C20432")
    assert set(c_village) == {SAC + "C20432", BASIN, SAC + "C20215", SAC + "C20383"}
    assert set(upstream_of(SAC + "C20215")) == {SAC + "C20215", BASIN}  # the top of the basin
    assert set(upstream_of(BASIN)) == {BASIN, SAC + "C20215", SAC + "C20383", SAC + "C20432"}
    assert upstream_of(SAC + "C13101") == (SAC + "C13101",)  # in no basin of the vocabulary


def test_summary_reads_what_the_index_needs() -> None:
    d = _dataset()
    s = summarise(dataset_to_json(d, root=False))
    assert s.id == d.id
    assert s.title == d.title and s.keywords == d.keywords
    assert s.themes == d.themes and s.places == d.spatial
    assert s.formats == d.formats
    assert d.publisher is not None and s.publisher == d.publisher.id
    assert d.temporal is not None and s.start == str(d.temporal.start)[:10]


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda j: j.pop("@id"), "@id"),
        (lambda j: j.update({"@type": "Catalog"}), "Dataset"),
        (lambda j: j.update({"hasPolicy": [{"permission": []}]}), "hasPolicy"),
        (lambda j: j.update({"distribution": []}), "distribution"),
        (lambda j: j.update({"dct:title": [{"@language": "ja"}]}), "not text"),
        (lambda j: j.update({"dcat:theme": [3]}), "not an IRI"),
    ],
)
def test_summary_refuses_what_the_schema_refuses(change: Any, fragment: str) -> None:
    data = dataset_to_json(_dataset(), root=False)
    change(data)
    with pytest.raises(CatalogError) as caught:
        summarise(data)
    assert fragment in str(caught.value)
