"""Catalogue entries written by hand in YAML (or as the same structure from JSON).

Authors write what they know, not IRIs: themes by slug or label (`river-water-level`, `雨量`),
places by municipality code or basin slug (`202151`, `tsunagu-river`), units by spelling
(`m`, `mm`). Every name is resolved through the shared vocabulary; an unknown one is an
`UnknownTerm` naming the entry and the field. Example (docs/catalog.md has the full form):

    catalog:
      id: did:web:a-city.example#catalog
      participant: did:web:a-city.example
      title: {ja: A市 データカタログ, en: A City data catalogue}
      description: {ja: ..., en: ...}
      publisher: {id: did:web:a-city.example, name: {ja: A市, en: A City}, code: "202151"}
      service: {id: did:web:a-city.example#dsp, endpoint: https://a-city.example/dsp/2025-1}
    datasets:
      - id: https://a-city.example/dataset/rainfall
        title: {ja: 雨量, en: Rainfall}
        themes: [rainfall]
        places: ["202151", tsunagu-river]
        measures: [{property: rainfall-10min, unit: mm}]
        formats: [HttpData-PULL]
        mode: direct
        offers: [{"@id": urn:offer:1, "@type": Offer, permission: [{action: use}]}]
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from catalog.errors import CatalogError, UnknownTerm
from catalog.model import (
    ACCUMULATED,
    CONTINUOUS,
    DAILY,
    DIRECT,
    FREQUENCY,
    HOURLY,
    IRREGULAR,
    Agent,
    Catalog,
    ContactPoint,
    DataService,
    Dataset,
    DatasetSeries,
    Distribution,
    Instant,
    Measure,
    PeriodOfTime,
    Text,
    Texts,
    parse_instant,
)
from catalog.terms import resolve_place, resolve_property, resolve_theme, resolve_unit
from policies.errors import PolicyError
from policies.odrl import parse_policy
from vocab.namespaces import expand_curie
from vocab.vocabulary import Vocabulary, load_vocabulary

FREQUENCIES = {
    "continuous": CONTINUOUS,
    "hourly": HOURLY,
    "daily": DAILY,
    "irregular": IRREGULAR,
}
MODES = {"direct": DIRECT, "distributed": DIRECT, "accumulated": ACCUMULATED}


def load_yaml(text: str, *, vocabulary: Vocabulary | None = None) -> Catalog:
    """A catalogue from YAML text; `CatalogError` (with a code) for anything wrong."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogError(f"not valid YAML: {exc}", code="invalid_yaml") from exc
    return from_document(data, vocabulary=vocabulary)


def from_document(data: object, *, vocabulary: Vocabulary | None = None) -> Catalog:
    """A catalogue from the authoring structure (parsed YAML or JSON)."""
    return _Author(vocabulary or load_vocabulary()).catalog(_mapping(data, "document"))


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise CatalogError(f"{where} must be a mapping", code="invalid_field")
    return value


def _list(value: object) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def _str(value: object, where: str) -> str:
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
        return str(value)
    raise CatalogError(f"{where} must be a non-empty string", code="invalid_field")


def _texts(value: object, where: str) -> Texts:
    """`text`, `{ja: text, en: text}` or `{ja: [text, ...]}` (keywords)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (Text(value),)
    if isinstance(value, Mapping):
        return tuple(
            Text(_str(v, f"{where}.{lang}"), str(lang))
            for lang, values in value.items()
            for v in _list(values)
        )
    if isinstance(value, list):
        return tuple(t for item in value for t in _texts(item, where))
    raise CatalogError(
        f"{where} must be text or a {{language: text}} mapping", code="invalid_field"
    )


def _instant(value: object, where: str) -> Instant | None:
    if value is None:
        return None
    if isinstance(value, datetime | date):  # YAML reads unquoted dates itself
        return value
    return parse_instant(_str(value, where), where)


class _Author:
    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary

    def resolved(self, where: str, resolve: Any, value: object) -> str:
        try:
            return str(resolve(_str(value, where), self.vocabulary))
        except UnknownTerm as exc:
            raise UnknownTerm(f"{where}: {exc}", code=exc.code) from exc

    def catalog(self, data: Mapping[str, Any]) -> Catalog:
        head = _mapping(data.get("catalog"), "catalog")
        service = self.service(head["service"]) if "service" in head else None
        series = tuple(
            self.series(_mapping(s, f"series[{i}]"), f"series[{i}]")
            for i, s in enumerate(_list(data.get("series")))
        )
        datasets = tuple(
            self.dataset(_mapping(d, f"datasets[{i}]"), f"datasets[{i}]", service)
            for i, d in enumerate(_list(data.get("datasets")))
        )
        return Catalog(
            id=_str(head.get("id"), "catalog.id"),
            participant_id=None
            if head.get("participant") is None
            else _str(head["participant"], "catalog.participant"),
            title=_texts(head.get("title"), "catalog.title"),
            description=_texts(head.get("description"), "catalog.description"),
            publisher=self.agent(head.get("publisher"), "catalog.publisher"),
            homepage=head.get("homepage"),
            license=head.get("license"),
            spatial=tuple(
                self.resolved("catalog.places", resolve_place, p) for p in _list(head.get("places"))
            ),
            theme_taxonomies=(expand_curie("tsu:ThemeScheme"),),
            services=() if service is None else (service,),
            series=series,
            datasets=datasets,
        )

    def service(self, value: object) -> DataService:
        data = _mapping(value, "catalog.service")
        return DataService(
            id=_str(data.get("id"), "catalog.service.id"),
            endpoint_url=_str(data.get("endpoint"), "catalog.service.endpoint"),
            title=_texts(data.get("title"), "catalog.service.title"),
            description=_texts(data.get("description"), "catalog.service.description"),
            conforms_to=("https://w3id.org/dspace/2025/1/",),
        )

    def agent(self, value: object, where: str) -> Agent | None:
        if value is None:
            return None
        data = _mapping(value, where)
        code = data.get("code")
        return Agent(
            id=data.get("id"),
            name=_texts(data.get("name"), f"{where}.name"),
            identifier=None if code is None else _str(code, f"{where}.code"),
            homepage=data.get("homepage"),
        )

    def contact(self, value: object, where: str) -> ContactPoint | None:
        if value is None:
            return None
        data = _mapping(value, where)
        return ContactPoint(
            name=_texts(data.get("name"), f"{where}.name"),
            email=data.get("email"),
            telephone=data.get("telephone"),
            url=data.get("url"),
        )

    def described(self, data: Mapping[str, Any], where: str) -> dict[str, Any]:
        period = data.get("period")
        temporal = None
        if period is not None:
            p = _mapping(period, f"{where}.period")
            temporal = PeriodOfTime(
                start=_instant(p.get("start"), f"{where}.period.start"),
                end=_instant(p.get("end"), f"{where}.period.end"),
            )
        frequency = data.get("frequency")
        if frequency is not None:
            name = _str(frequency, f"{where}.frequency")
            frequency = FREQUENCIES.get(name.lower()) or (
                name if name.startswith(FREQUENCY) else None
            )
            if frequency is None:
                raise CatalogError(
                    f"{where}.frequency: {name!r} is not one of {', '.join(FREQUENCIES)} "
                    f"or an IRI of {FREQUENCY}",
                    code="unknown_frequency",
                )
        return {
            "id": _str(data.get("id"), f"{where}.id"),
            "title": _texts(data.get("title"), f"{where}.title"),
            "description": _texts(data.get("description"), f"{where}.description"),
            "keywords": _texts(data.get("keywords"), f"{where}.keywords"),
            "themes": tuple(
                self.resolved(f"{where}.themes", resolve_theme, t)
                for t in _list(data.get("themes"))
            ),
            "spatial": tuple(
                self.resolved(f"{where}.places", resolve_place, p)
                for p in _list(data.get("places"))
            ),
            "temporal": temporal,
            "accrual_periodicity": frequency,
            "publisher": self.agent(data.get("publisher"), f"{where}.publisher"),
            "contact_point": self.contact(data.get("contact"), f"{where}.contact"),
            "license": data.get("license"),
            "issued": _instant(data.get("issued"), f"{where}.issued"),
            "modified": _instant(data.get("modified"), f"{where}.modified"),
        }

    def series(self, data: Mapping[str, Any], where: str) -> DatasetSeries:
        return DatasetSeries(**self.described(data, where))

    def dataset(self, data: Mapping[str, Any], where: str, service: DataService | None) -> Dataset:
        fields = self.described(data, where)
        mode_name = data.get("mode")
        mode = None if mode_name is None else MODES.get(_str(mode_name, f"{where}.mode"))
        if mode_name is not None and mode is None:
            raise CatalogError(
                f"{where}.mode: {mode_name!r} is not one of {', '.join(MODES)}", code="unknown_mode"
            )
        formats = _list(data.get("formats"))
        if formats and service is None:
            raise CatalogError(
                f"{where}.formats: the catalogue names no service to offer them at",
                code="missing_field",
            )
        media_type = data.get("media_type")
        distributions = tuple(
            Distribution(
                format=_str(f, f"{where}.formats"),
                access_service=service.id if service else None,
                serving_mode=mode,
                media_type=media_type,
            )
            for f in formats
        )
        offers = []
        for i, offer in enumerate(_list(data.get("offers"))):
            try:
                offers.append(
                    parse_policy(_mapping(offer, f"{where}.offers[{i}]"), expected_kind="Offer")
                )
            except PolicyError as exc:
                raise CatalogError(f"{where}.offers[{i}]: {exc}", code="invalid_policy") from exc
        measures = []
        for i, m in enumerate(_list(data.get("measures"))):
            item = _mapping(m, f"{where}.measures[{i}]")
            measures.append(
                Measure(
                    property=self.resolved(
                        f"{where}.measures[{i}].property", resolve_property, item.get("property")
                    ),
                    unit=self.resolved(
                        f"{where}.measures[{i}].unit", resolve_unit, item.get("unit")
                    ),
                )
            )
        return Dataset(
            **fields,
            conforms_to=tuple(
                expand_curie(_str(c, f"{where}.conforms_to"))
                for c in _list(data.get("conforms_to"))
            ),
            measures=tuple(measures),
            temporal_resolution=data.get("resolution"),
            in_series=tuple(_str(s, f"{where}.series") for s in _list(data.get("series"))),
            landing_page=data.get("landing_page"),
            offers=tuple(offers),
            distributions=distributions,
        )
