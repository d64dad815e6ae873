"""The DCAT model: texts in several languages, periods, what a dataset offers."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from catalog.errors import CatalogError
from catalog.model import (
    DIRECT,
    Dataset,
    Distribution,
    PeriodOfTime,
    Text,
    parse_instant,
    text_in,
    texts,
)
from tests.catalog.support import WATER_LEVEL


def test_texts_are_built_from_strings_mappings_and_lists() -> None:
    assert texts("水位") == (Text("水位"),)
    assert texts({"ja": "水位", "en": "Water level"}) == (
        Text("水位", "ja"),
        Text("Water level", "en"),
    )
    assert texts(["a", Text("b", "en")]) == (Text("a"), Text("b", "en"))
    assert texts(None) == () and texts("") == ()
    with pytest.raises(CatalogError):
        texts(3)


def test_a_dataset_normalises_its_texts_and_sequences() -> None:
    dataset = Dataset(id="urn:ds", title="水位", keywords=["river", "水位"], themes=["urn:t"])
    assert dataset.title == (Text("水位"),)
    assert dataset.keywords == (Text("river"), Text("水位"))
    assert dataset.themes == ("urn:t",)
    with pytest.raises(CatalogError):
        Dataset(id="urn:ds", themes="urn:t")  # type: ignore[arg-type]


def test_text_in_picks_the_language_then_untagged_then_first() -> None:
    values = (Text("Water level", "en"), Text("水位", "ja"))
    assert text_in(values, "ja") == "水位"
    assert text_in(values, "fr") == "Water level"
    assert text_in((Text("en", "en"), Text("plain")), "fr") == "plain"
    assert text_in(()) is None


def test_periods_are_checked() -> None:
    PeriodOfTime(start=date(2024, 4, 1))
    with pytest.raises(CatalogError) as caught:
        PeriodOfTime()
    assert caught.value.code == "invalid_period"
    with pytest.raises(CatalogError):
        PeriodOfTime(start=date(2024, 4, 2), end=date(2024, 4, 1))


def test_instants_are_iso_dates_or_date_times() -> None:
    assert parse_instant("2024-04-01", "x") == date(2024, 4, 1)
    assert parse_instant("2024-04-01T00:00:00Z", "x") == datetime(2024, 4, 1, tzinfo=UTC)
    with pytest.raises(CatalogError) as caught:
        parse_instant("令和6年4月1日", "issued")
    assert caught.value.code == "invalid_date" and "issued" in str(caught.value)


def test_formats_and_serving_mode_of_a_dataset() -> None:
    assert WATER_LEVEL.formats == ("HttpData-PULL", "HttpData-PUSH")
    assert WATER_LEVEL.serving_mode == DIRECT
    mixed = Dataset(
        id="urn:ds",
        distributions=(
            Distribution(format="HttpData-PULL", access_service="urn:s", serving_mode=DIRECT),
            Distribution(format="HttpData-PULL", access_service="urn:s"),
        ),
    )
    assert mixed.formats == ("HttpData-PULL",) and mixed.serving_mode is None
