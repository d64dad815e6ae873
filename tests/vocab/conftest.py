"""Fixtures for the vocabulary tests: the packaged vocabulary and small helpers (the examples: `examples` in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from vocab.mapping import Mapping, mapping_from_dict
from vocab.vocabulary import Vocabulary, load_vocabulary

STATION = "https://w3id.org/tsunagu/id/station/test/s1"


@pytest.fixture(scope="session")
def vocabulary() -> Vocabulary:
    return load_vocabulary()


@pytest.fixture
def station_iri() -> str:
    return STATION


@pytest.fixture
def make_mapping() -> Callable[..., Mapping]:
    """Build `simple_mapping`-style mappings inside a test."""
    return simple_mapping


def simple_mapping(**overrides: object) -> Mapping:
    """A CSV mapping reading 日時, 局, 水位 (cm) and 雨量 (mm/h); sections can be replaced."""
    data: dict[str, object] = {
        "source": {"name": "test", "format": "csv"},
        "time": {"field": "日時", "era_boundary": "lenient"},
        "station": {"field": "局", "codes": {"S1": STATION}},
        "observations": [
            {"property": "water-level", "field": "水位", "unit": "cm"},
            {"property": "rainfall-1h", "field": "雨量", "unit": "mm/h"},
        ],
    }
    data.update(overrides)
    return mapping_from_dict(data)
