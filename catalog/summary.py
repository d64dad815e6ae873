"""What a catalogue index needs of a DSP dataset, read straight from its JSON.

Harvesting tens of thousands of entries cannot afford building the whole model for each
(`catalog.dsp.parse_dataset` validates every offer's ODRL as well): this reads titles,
descriptions, keywords, themes, places, formats, publisher and period, and checks what the DSP
schema requires of a dataset (an `@id`, `@type` Dataset, at least one offer with an `@id`,
at least one distribution with a format). Anything else of the wrong shape is refused with
`invalid_field`, naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from catalog.dsp_reading import _node  # the one reader of prefixed / full-IRI keys
from catalog.errors import CatalogError
from catalog.model import Text, Texts


@dataclass(frozen=True)
class Summary:
    id: str
    title: Texts
    description: Texts
    keywords: Texts
    themes: tuple[str, ...]
    places: tuple[str, ...]
    formats: tuple[str, ...]
    publisher: str | None
    publisher_name: Texts
    start: str | None
    end: str | None


def summarise(data: object) -> Summary:
    node = _node(data, "dataset")
    ids = node.get("@id", [])
    if len(ids) != 1 or not isinstance(ids[0], str) or not ids[0]:
        raise CatalogError("a dataset needs one @id", code="invalid_field")
    what = f"dataset {ids[0]!r}"
    if "Dataset" not in node.get("@type", []) and "dcat:Dataset" not in node.get("@type", []):
        raise CatalogError(f"{what}: @type is not Dataset", code="invalid_field")
    offers = node.get("hasPolicy", [])
    if not offers or not all(isinstance(o, dict) and isinstance(o.get("@id"), str) for o in offers):
        raise CatalogError(f"{what}: hasPolicy needs offers with an @id", code="invalid_field")
    formats = []
    for d in node.get("distribution", []):
        dist = _node(d, f"{what}: distribution")
        value = dist.get("format", [None])[0]
        if isinstance(value, dict):
            value = value.get("@id")
        if not isinstance(value, str):
            raise CatalogError(f"{what}: a distribution needs a format", code="invalid_field")
        formats.append(value)
    if not formats:
        raise CatalogError(f"{what}: needs a distribution", code="invalid_field")
    publisher = node.get("publisher", [])
    publisher_id: str | None = None
    publisher_name: Texts = ()
    if publisher:
        agent = _node(publisher[0], f"{what}: publisher")
        agent_id = agent.get("@id", [None])[0]
        publisher_id = agent_id if isinstance(agent_id, str) else None
        publisher_name = _texts(agent.get("name", []), f"{what}: publisher name")
    start = end = None
    temporal = node.get("temporal", [])
    if temporal:
        period = _node(temporal[0], f"{what}: temporal")
        start = _date(period.get("startDate", []), what)
        end = _date(period.get("endDate", []), what)
    return Summary(
        id=ids[0],
        title=_texts(node.get("title", []), f"{what}: title"),
        description=_texts(node.get("description", []), f"{what}: description"),
        keywords=_texts(node.get("keyword", []), f"{what}: keyword"),
        themes=_refs(node.get("theme", []), f"{what}: theme"),
        places=_refs(node.get("spatial", []), f"{what}: spatial"),
        formats=tuple(dict.fromkeys(formats)),
        publisher=publisher_id,
        publisher_name=publisher_name,
        start=start,
        end=end,
    )


def _texts(values: list[Any], what: str) -> Texts:
    out = []
    for v in values:
        if isinstance(v, str):
            out.append(Text(v))
        elif isinstance(v, dict) and isinstance(v.get("@value"), str):
            language = v.get("@language")
            out.append(Text(v["@value"], language if isinstance(language, str) else None))
        else:
            raise CatalogError(f"{what}: {v!r} is not text", code="invalid_field")
    return tuple(out)


def _refs(values: list[Any], what: str) -> tuple[str, ...]:
    out = []
    for v in values:
        ref = v.get("@id") if isinstance(v, dict) else v
        if not isinstance(ref, str):
            raise CatalogError(f"{what}: {v!r} is not an IRI", code="invalid_field")
        out.append(ref)
    return tuple(out)


def _date(values: list[Any], what: str) -> str | None:
    if not values:
        return None
    v = values[0]
    text = v.get("@value") if isinstance(v, dict) else v
    if not isinstance(text, str) or len(text) < 10 or text[4] != "-" or text[7] != "-":
        raise CatalogError(f"{what}: {v!r} is not an ISO 8601 date", code="invalid_field")
    return text[:10]
