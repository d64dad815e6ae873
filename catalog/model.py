"""The DCAT 3 catalogue: catalogues, datasets, dataset series, distributions, data services.

One model feeds every serialisation (DSP JSON in `dsp.py`, DCAT RDF in `rdf.py`). Values are
plain Python (strings for IRIs, `Text` for language-tagged literals, `date`/`datetime`), so
building and serialising 10,000 entries touches no RDF library.

Terms are IRIs as written; whether a theme, a place or a unit exists in the shared vocabulary is
checked by `catalog.terms.check_terms` (publishing runs it), not on construction, so a peer's
catalogue with local terms can still be read.

Convenience for callers: text fields accept a plain `str` (an untagged literal) or a mapping
`{"ja": ..., "en": ...}` and are normalised to tuples of `Text` on construction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from catalog.errors import CatalogError
from policies.odrl import Policy

# The serving mode of a distribution, in the shared vocabulary (vocab/data/tsunagu.ttl, the
# `tsu:` namespace): whether reads reach the owner's system or the connector's buffer.
TSU = "https://w3id.org/tsunagu/vocab/"
SERVING_MODE = TSU + "servingMode"
DIRECT = TSU + "direct"
ACCUMULATED = TSU + "accumulated"
SERVING_MODES = (DIRECT, ACCUMULATED)

# dct:accrualPeriodicity values: the EU frequency authority table, as DCAT-AP expects.
FREQUENCY = "http://publications.europa.eu/resource/authority/frequency/"
CONTINUOUS = FREQUENCY + "CONT"
HOURLY = FREQUENCY + "HOURLY"
DAILY = FREQUENCY + "DAILY"
IRREGULAR = FREQUENCY + "IRREG"

Instant = date | datetime


@dataclass(frozen=True, slots=True)
class Text:
    """A literal with an optional language tag (`ja`, `en`)."""

    value: str
    language: str | None = None


Texts = tuple[Text, ...]


def texts(value: object) -> Texts:
    """`Texts` from a `str`, a `Text`, a `{language: value}` mapping or an iterable of those."""
    if value is None:
        return ()
    if isinstance(value, Text):
        return (value,)
    if isinstance(value, str):
        return (Text(value),) if value else ()
    if isinstance(value, Mapping):
        return tuple(Text(str(v), str(k) or None) for k, v in value.items() if v)
    if isinstance(value, Iterable):
        return tuple(t for item in value for t in texts(item))
    raise CatalogError(f"{value!r} is not text", code="invalid_field")


def text_in(values: Texts, language: str | None = None) -> str | None:
    """The value in `language`, else an untagged one, else the first; None when empty."""
    for wanted in (language, None):
        for text in values:
            if text.language == wanted:
                return text.value
    return values[0].value if values else None


def _normalise_texts(obj: object, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if not (isinstance(value, tuple) and all(isinstance(v, Text) for v in value)):
            object.__setattr__(obj, name, texts(value))


def _normalise_tuples(obj: object, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, str):
            raise CatalogError(f"{name} must be a sequence, not the string {value!r}")
        if not isinstance(value, tuple):
            object.__setattr__(obj, name, tuple(value))


@dataclass(frozen=True, slots=True)
class Agent:
    """A publisher (foaf:Agent, an organisation). `id` is an IRI (a DID, a corporate-number
    IRI) or None for a blank node; `identifier` holds the municipality code or 法人番号."""

    name: Texts
    id: str | None = None
    identifier: str | None = None
    homepage: str | None = None

    def __post_init__(self) -> None:
        _normalise_texts(self, "name")


@dataclass(frozen=True, slots=True)
class ContactPoint:
    """A vCard organisation to ask about the data (`email` without `mailto:`)."""

    name: Texts
    id: str | None = None
    email: str | None = None
    telephone: str | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        _normalise_texts(self, "name")


@dataclass(frozen=True, slots=True)
class PeriodOfTime:
    """dct:temporal: an open or closed interval (DCAT 3 `dcat:startDate` / `dcat:endDate`)."""

    start: Instant | None = None
    end: Instant | None = None

    def __post_init__(self) -> None:
        if self.start is None and self.end is None:
            raise CatalogError("a period needs a start or an end", code="invalid_period")
        if self.start is not None and self.end is not None and _key(self.end) < _key(self.start):
            raise CatalogError(
                f"period ends ({self.end}) before it starts ({self.start})", code="invalid_period"
            )


def parse_instant(text: str, what: str) -> Instant:
    """An xsd:date (`2024-04-01`) or xsd:dateTime with its offset."""
    try:
        if "T" in text:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        return date.fromisoformat(text)
    except ValueError:
        raise CatalogError(
            f"{what}: {text!r} is not an ISO 8601 date", code="invalid_date"
        ) from None


def _key(value: Instant) -> tuple[int, int, int]:
    return (value.year, value.month, value.day)


@dataclass(frozen=True, slots=True)
class Measure:
    """What a dataset measures: an observable property of the vocabulary and its QUDT unit."""

    property: str
    unit: str


@dataclass(frozen=True)
class DataService:
    """A connector endpoint: `endpoint_url` is the DSP `<base>` where negotiations happen."""

    id: str
    endpoint_url: str
    title: Texts = ()
    description: Texts = ()
    endpoint_description: str | None = None
    conforms_to: tuple[str, ...] = ()
    serves_datasets: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _normalise_texts(self, "title", "description")
        _normalise_tuples(self, "conforms_to", "serves_datasets")


@dataclass(frozen=True)
class Distribution:
    """How a dataset is delivered.

    `format` is the DSP transfer format (`HttpData-PULL`) offered via the DataService whose id
    is `access_service`; a portal's distribution may instead name a file format IRI and have
    no service. `service`, when set, is that DataService written inline (as a standalone
    dataset response should, so a consumer learns the endpoint). `serving_mode` (`DIRECT`,
    `ACCUMULATED`, or another connector's IRI; None when not stated) says where reads are
    answered from: the distributed or the accumulation mode. `media_type` is the payload's
    IANA media type (`text/csv`). `access_url` defaults to the service's endpoint in RDF.
    """

    format: str | None
    access_service: str | None = None
    service: DataService | None = None
    serving_mode: str | None = None
    id: str | None = None
    title: Texts = ()
    description: Texts = ()
    media_type: str | None = None
    access_url: str | None = None
    download_url: str | None = None
    license: str | None = None
    conforms_to: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.service is not None and self.service.id != self.access_service:
            raise CatalogError(
                f"inline service {self.service.id!r} is not accessService {self.access_service!r}",
                code="service_mismatch",
            )
        _normalise_texts(self, "title", "description")
        _normalise_tuples(self, "conforms_to")


@dataclass(frozen=True)
class _Described:
    """What DCAT-AP says of every dataset-like resource (Dataset, DatasetSeries)."""

    id: str
    title: Texts = ()
    description: Texts = ()
    keywords: Texts = ()
    themes: tuple[str, ...] = ()
    publisher: Agent | None = None
    contact_point: ContactPoint | None = None
    spatial: tuple[str, ...] = ()
    temporal: PeriodOfTime | None = None
    accrual_periodicity: str | None = None
    issued: Instant | None = None
    modified: Instant | None = None
    license: str | None = None

    def __post_init__(self) -> None:
        _normalise_texts(self, "title", "description", "keywords")
        _normalise_tuples(self, "themes", "spatial")


@dataclass(frozen=True)
class DatasetSeries(_Described):
    """A dcat:DatasetSeries: datasets name it in `in_series` (e.g. one per station)."""


@dataclass(frozen=True)
class Dataset(_Described):
    """A dataset on offer. Its offers carry no `target`: the dataset is their target.

    `conforms_to` names the payload's SHACL shape(s); `measures` the observable properties
    and units it carries; `temporal_resolution` is an xsd:duration (`PT10M`).
    """

    offers: tuple[Policy, ...] = ()
    distributions: tuple[Distribution, ...] = ()
    conforms_to: tuple[str, ...] = ()
    measures: tuple[Measure, ...] = ()
    temporal_resolution: str | None = None
    in_series: tuple[str, ...] = ()
    landing_page: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        _normalise_tuples(self, "offers", "distributions", "conforms_to", "measures", "in_series")

    @property
    def serving_mode(self) -> str | None:
        """The distributions' serving mode when they all state the same one."""
        modes = {d.serving_mode for d in self.distributions}
        return modes.pop() if len(modes) == 1 else None

    @property
    def formats(self) -> tuple[str, ...]:
        """The transfer formats offered, in order, without repeats."""
        return tuple(dict.fromkeys(d.format for d in self.distributions if d.format))

    def offer(self, uid: str) -> Policy | None:
        """The offer with this `@id`, with the dataset as its target (ready for a request)."""
        for offer in self.offers:
            if offer.uid == uid:
                return offer.with_(target=self.id)
        return None


@dataclass(frozen=True)
class Catalog:
    """A catalogue. The root one names its `participant_id`; nested ones may not."""

    id: str
    participant_id: str | None
    datasets: tuple[Dataset, ...] = ()
    services: tuple[DataService, ...] = ()
    catalogs: tuple[Catalog, ...] = ()
    distributions: tuple[Distribution, ...] = ()
    series: tuple[DatasetSeries, ...] = ()
    title: Texts = ()
    description: Texts = ()
    publisher: Agent | None = None
    homepage: str | None = None
    languages: tuple[str, ...] = ()
    issued: Instant | None = None
    modified: Instant | None = None
    license: str | None = None
    spatial: tuple[str, ...] = ()
    theme_taxonomies: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _normalise_texts(self, "title", "description")
        _normalise_tuples(
            self,
            "datasets",
            "services",
            "catalogs",
            "distributions",
            "series",
            "languages",
            "spatial",
            "theme_taxonomies",
        )

    def all_datasets(self) -> Iterable[Dataset]:
        """Datasets of this catalogue and of every nested one."""
        yield from self.datasets
        for child in self.catalogs:
            yield from child.all_datasets()
