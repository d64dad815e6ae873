"""The DSP `filter` of a CatalogRequestMessage, as tsunagu understands it.

DSP 2025-1 leaves the filter's content to the implementation. Here it is a list of objects,
every one of which a dataset must satisfy (AND); inside one object, each key must match too:

    {"keyword": "水位"}            substring of a title, description or keyword (case and
                                   width folded: ＡＢＣ = abc)
    {"theme": "<concept IRI>"}     one of the dataset's themes
    {"spatial": "<place IRI>"}     one of its places (municipality or basin)
    {"id": "<dataset IRI>"}        that dataset only
    {"format": "HttpData-PULL"}    a transfer format it is offered in

A value may also be a list (any of them). Any other key, or a value that is not a string, is
refused with `unsupported_filter`, so a peer never mistakes an ignored filter for an empty
answer.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from catalog.errors import CatalogError
from catalog.model import Dataset

KEYS = ("keyword", "theme", "spatial", "id", "format")


def fold(text: str) -> str:
    """What text is compared as: NFKC (full-width to ASCII, half-width kana to full) and
    case-folded."""
    return unicodedata.normalize("NFKC", text).casefold()


@dataclass(frozen=True)
class Condition:
    key: str
    values: tuple[str, ...]

    def matches(self, dataset: Dataset) -> bool:
        if self.key == "keyword":
            haystack = fold(
                " ".join(t.value for t in (*dataset.title, *dataset.description, *dataset.keywords))
            )
            return any(fold(v) in haystack for v in self.values)
        have: Sequence[str] = {
            "theme": dataset.themes,
            "spatial": dataset.spatial,
            "id": (dataset.id,),
            "format": dataset.formats,
        }[self.key]
        return any(v in have for v in self.values)


@dataclass(frozen=True)
class CatalogFilter:
    conditions: tuple[Condition, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.conditions)

    def matches(self, dataset: Dataset) -> bool:
        return all(c.matches(dataset) for c in self.conditions)


def parse_filter(data: object) -> CatalogFilter:
    """The filter list of a CatalogRequestMessage (None or [] for none)."""
    if data is None:
        return CatalogFilter()
    items = list(data) if isinstance(data, (list, tuple)) else [data]
    conditions: list[Condition] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not item:
            raise CatalogError(
                f'filter[{index}] must be an object such as {{"keyword": "水位"}}',
                code="unsupported_filter",
            )
        for key, value in item.items():
            if key not in KEYS:
                raise CatalogError(
                    f"filter[{index}]: unknown key {key!r}; supported: {', '.join(KEYS)}",
                    code="unsupported_filter",
                )
            values = value if isinstance(value, list) else [value]
            if not values or not all(isinstance(v, str) and v for v in values):
                raise CatalogError(
                    f"filter[{index}].{key} must be a non-empty string or list of strings",
                    code="unsupported_filter",
                )
            conditions.append(Condition(key, tuple(values)))
    return CatalogFilter(tuple(conditions))
