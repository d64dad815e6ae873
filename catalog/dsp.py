"""Catalogue <-> DSP 2025-1 JSON.

Output is the exact compact form of the spec's examples (`@context` array, unprefixed DSP
terms, arrays where the schema has arrays, `"@type"` on every Dataset and Distribution because
the DSP context scopes `hasPolicy` / `distribution` to those types). Descriptive DCAT
properties the DSP context does not name are written with the prefixes it declares
(`dct:title`, `dcat:keyword`, ...).

The descriptive DCAT-AP properties of the model travel too: language-tagged texts as
`{"@value", "@language"}` objects (a lone untagged text stays a plain string, as before),
references as `{"@id"}`, dates typed `xsd:date` / `xsd:dateTime`. Properties outside the DSP
context's prefixes (foaf, vcard, tsu, sosa, qudt) are keyed by their full IRIs.

Writing builds dictionaries straight from the model: no RDF library, no JSON-LD processing,
so a page of a 10,000-dataset catalogue costs only the dictionaries it holds.

Input also accepts prefixed and full-IRI keys and single values where arrays are expected.
Policies attached to a Distribution (`hasPolicy` there) are not modelled yet and are skipped.

A Distribution's serving mode (`tsu:servingMode`, see `model.py`) is written with its full IRI
as key and an `{"@id": ...}` value: the DSP context declares no `tsu` prefix, and `@context`
may only hold strings (the schema), so a full IRI is the one spelling every JSON-LD processor
reads the same without fetching anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from catalog.errors import CatalogError
from catalog.model import (
    SERVING_MODE,
    TSU,
    Agent,
    Catalog,
    ContactPoint,
    DataService,
    Dataset,
    Distribution,
    Instant,
    Measure,
    PeriodOfTime,
    Text,
    Texts,
    parse_instant,
)
from catalog.namespaces import FOAF, QUDT, SOSA, VCARD, XSD, media_type_iri, media_type_token
from policies.errors import PolicyError
from policies.odrl import parse_policy

DSP_CONTEXT = "https://w3id.org/dspace/2025/1/context.jsonld"

_DCAT = "http://www.w3.org/ns/dcat#"
_DCT = "http://purl.org/dc/terms/"
_ODRL = "http://www.w3.org/ns/odrl/2/"
_DSPACE = "https://w3id.org/dspace/2025/1/"
_PREFIXES = {"dcat": _DCAT, "dct": _DCT, "odrl": _ODRL, "dspace": _DSPACE, "tsu": TSU, "xsd": XSD}

# Canonical key -> the full IRI it stands for (how every spelling is recognised).
_KEYS = {
    "dataset": _DCAT + "dataset",
    "catalog": _DCAT + "catalog",
    "service": _DCAT + "service",
    "distribution": _DCAT + "distribution",
    "accessService": _DCAT + "accessService",
    "endpointURL": _DCAT + "endpointURL",
    "keyword": _DCAT + "keyword",
    "theme": _DCAT + "theme",
    "format": _DCT + "format",
    "title": _DCT + "title",
    "description": _DCT + "description",
    "hasPolicy": _ODRL + "hasPolicy",
    "participantId": _DSPACE + "participantId",
    "servingMode": SERVING_MODE,
    "spatial": _DCT + "spatial",
    "temporal": _DCT + "temporal",
    "startDate": _DCAT + "startDate",
    "endDate": _DCAT + "endDate",
    "accrualPeriodicity": _DCT + "accrualPeriodicity",
    "temporalResolution": _DCAT + "temporalResolution",
    "conformsTo": _DCT + "conformsTo",
    "license": _DCT + "license",
    "issued": _DCT + "issued",
    "modified": _DCT + "modified",
    "inSeries": _DCAT + "inSeries",
    "landingPage": _DCAT + "landingPage",
    "publisher": _DCT + "publisher",
    "contactPoint": _DCAT + "contactPoint",
    "identifier": _DCT + "identifier",
    "mediaType": _DCAT + "mediaType",
    "accessURL": _DCAT + "accessURL",
    "downloadURL": _DCAT + "downloadURL",
    "endpointDescription": _DCAT + "endpointDescription",
    "servesDataset": _DCAT + "servesDataset",
    "name": FOAF + "name",
    "homepage": FOAF + "homepage",
    "fn": VCARD + "fn",
    "hasEmail": VCARD + "hasEmail",
    "hasTelephone": VCARD + "hasTelephone",
    "hasURL": VCARD + "hasURL",
    "measures": TSU + "measures",
    "observedProperty": SOSA + "observedProperty",
    "hasUnit": QUDT + "hasUnit",
}
_BY_IRI = {iri: key for key, iri in _KEYS.items()}


# -- writing ----------------------------------------------------------------------------------


def catalog_to_json(catalog: Catalog) -> dict[str, Any]:
    """The root `Catalog` a provider returns for a CatalogRequestMessage."""
    if not catalog.participant_id:
        raise CatalogError(
            f"root catalog {catalog.id!r} needs a participantId", code="missing_field"
        )
    return {"@context": [DSP_CONTEXT], **_catalog_node(catalog)}


def dataset_to_json(dataset: Dataset, *, root: bool) -> dict[str, Any]:
    """A Dataset; `root=True` for a standalone response (adds `@context`)."""
    if not dataset.offers:
        raise CatalogError(
            f"dataset {dataset.id!r} has no offer; DSP requires one", code="no_offer"
        )
    if not dataset.distributions:
        raise CatalogError(
            f"dataset {dataset.id!r} has no distribution; DSP requires one", code="no_distribution"
        )
    out: dict[str, Any] = {"@context": [DSP_CONTEXT]} if root else {}
    out["@id"] = dataset.id
    out["@type"] = "Dataset"
    _describe(out, dataset)
    if dataset.conforms_to:
        out["dct:conformsTo"] = [{"@id": c} for c in dataset.conforms_to]
    if dataset.measures:
        out[TSU + "measures"] = [
            {SOSA + "observedProperty": {"@id": m.property}, QUDT + "hasUnit": {"@id": m.unit}}
            for m in dataset.measures
        ]
    if dataset.temporal_resolution:
        out["dcat:temporalResolution"] = {
            "@value": dataset.temporal_resolution,
            "@type": "xsd:duration",
        }
    if dataset.in_series:
        out["dcat:inSeries"] = [{"@id": s} for s in dataset.in_series]
    if dataset.landing_page:
        out["dcat:landingPage"] = {"@id": dataset.landing_page}
    out["hasPolicy"] = [o.to_json(include_target=False) for o in dataset.offers]
    out["distribution"] = [_distribution(d) for d in dataset.distributions]
    return out


def _describe(out: dict[str, Any], entry: Dataset) -> None:
    """The DCAT-AP description shared by datasets (series are not offered over DSP)."""
    _put_texts(out, "dct:title", entry.title)
    _put_texts(out, "dct:description", entry.description)
    if entry.keywords:
        out["dcat:keyword"] = [_text_json(k) for k in entry.keywords]
    if entry.themes:
        out["dcat:theme"] = [{"@id": t} for t in entry.themes]
    if entry.spatial:
        out["dct:spatial"] = [{"@id": s} for s in entry.spatial]
    if entry.temporal is not None:
        period: dict[str, Any] = {"@type": "dct:PeriodOfTime"}
        if entry.temporal.start is not None:
            period["dcat:startDate"] = _instant(entry.temporal.start)
        if entry.temporal.end is not None:
            period["dcat:endDate"] = _instant(entry.temporal.end)
        out["dct:temporal"] = period
    if entry.accrual_periodicity:
        out["dct:accrualPeriodicity"] = {"@id": entry.accrual_periodicity}
    if entry.publisher is not None:
        out["dct:publisher"] = _agent(entry.publisher)
    if entry.contact_point is not None:
        out["dcat:contactPoint"] = _contact(entry.contact_point)
    if entry.license:
        out["dct:license"] = {"@id": entry.license}
    if entry.issued is not None:
        out["dct:issued"] = _instant(entry.issued)
    if entry.modified is not None:
        out["dct:modified"] = _instant(entry.modified)


def _put_texts(out: dict[str, Any], key: str, values: Texts) -> None:
    if len(values) == 1 and values[0].language is None:
        out[key] = values[0].value  # the plain form DSP examples use
    elif values:
        out[key] = [_text_json(t) for t in values]


def _text_json(text: Text) -> Any:
    if text.language is None:
        return text.value
    return {"@value": text.value, "@language": text.language}


def _instant(value: Instant) -> dict[str, str]:
    kind = "xsd:dateTime" if isinstance(value, datetime) else "xsd:date"
    return {"@value": value.isoformat(), "@type": kind}


def _agent(agent: Agent) -> dict[str, Any]:
    out: dict[str, Any] = {"@id": agent.id} if agent.id else {}
    out["@type"] = FOAF + "Organization"
    _put_texts(out, FOAF + "name", agent.name)
    if agent.identifier:
        out["dct:identifier"] = agent.identifier
    if agent.homepage:
        out[FOAF + "homepage"] = {"@id": agent.homepage}
    return out


def _contact(contact: ContactPoint) -> dict[str, Any]:
    out: dict[str, Any] = {"@id": contact.id} if contact.id else {}
    out["@type"] = VCARD + "Organization"
    _put_texts(out, VCARD + "fn", contact.name)
    if contact.email:
        out[VCARD + "hasEmail"] = {"@id": "mailto:" + contact.email}
    if contact.telephone:
        out[VCARD + "hasTelephone"] = {"@id": "tel:" + contact.telephone}
    if contact.url:
        out[VCARD + "hasURL"] = {"@id": contact.url}
    return out


def _catalog_node(catalog: Catalog) -> dict[str, Any]:
    out: dict[str, Any] = {"@id": catalog.id, "@type": "Catalog"}
    if catalog.participant_id:
        out["participantId"] = catalog.participant_id
    _put_texts(out, "dct:title", catalog.title)
    _put_texts(out, "dct:description", catalog.description)
    if catalog.publisher is not None:
        out["dct:publisher"] = _agent(catalog.publisher)
    # The schema wants at least one item in each of these arrays when present.
    if catalog.datasets:
        out["dataset"] = [dataset_to_json(d, root=False) for d in catalog.datasets]
    if catalog.catalogs:
        out["catalog"] = [_catalog_node(c) for c in catalog.catalogs]
    if catalog.distributions:
        out["distribution"] = [_distribution(d) for d in catalog.distributions]
    if catalog.services:
        out["service"] = [_service(s) for s in catalog.services]
    return out


def _distribution(distribution: Distribution) -> dict[str, Any]:
    service = distribution.service
    if not distribution.format or not distribution.access_service:
        raise CatalogError(
            "a DSP distribution needs a transfer format and an access service",
            code="not_a_dsp_distribution",
        )
    out: dict[str, Any] = {"@id": distribution.id} if distribution.id else {}
    out["@type"] = "Distribution"
    out["format"] = distribution.format
    out["accessService"] = _service(service) if service else distribution.access_service
    if distribution.serving_mode:
        out[SERVING_MODE] = {"@id": distribution.serving_mode}
    _put_texts(out, "dct:title", distribution.title)
    _put_texts(out, "dct:description", distribution.description)
    if distribution.media_type:
        out["dcat:mediaType"] = {"@id": media_type_iri(distribution.media_type)}
    if distribution.license:
        out["dct:license"] = {"@id": distribution.license}
    if distribution.conforms_to:
        out["dct:conformsTo"] = [{"@id": c} for c in distribution.conforms_to]
    return out


def _service(service: DataService) -> dict[str, Any]:
    out: dict[str, Any] = {
        "@id": service.id,
        "@type": "DataService",
        "endpointURL": service.endpoint_url,
    }
    _put_texts(out, "dct:title", service.title)
    _put_texts(out, "dct:description", service.description)
    if service.endpoint_description:
        out["dcat:endpointDescription"] = {"@id": service.endpoint_description}
    if service.conforms_to:
        out["dct:conformsTo"] = [{"@id": c} for c in service.conforms_to]
    return out


# -- reading ----------------------------------------------------------------------------------


def parse_catalog(data: object) -> Catalog:
    """A peer's root catalogue; `CatalogError` (with a `code`) when it is not one."""
    catalog = _parse_catalog(data, "catalog")
    if not catalog.participant_id:
        raise CatalogError(f"catalog {catalog.id!r} has no participantId", code="missing_field")
    return catalog


def parse_dataset(data: object) -> Dataset:
    """A dataset, standalone or from a catalogue's `dataset` array."""
    node = _node(data, "dataset")
    uid = _id(node, "dataset")
    what = f"dataset {uid!r}"
    _check_type(node, "Dataset", what, required=False)
    offers = []
    for i, item in enumerate(_required(node, "hasPolicy", what)):
        try:
            offer = parse_policy(_object(item, f"{what} hasPolicy[{i}]"), expected_kind="Offer")
        except PolicyError as exc:
            raise CatalogError(f"{what} hasPolicy[{i}]: {exc}", code="invalid_policy") from exc
        if offer.target not in (None, uid):
            raise CatalogError(
                f"{what}: offer {offer.uid!r} targets {offer.target!r}",
                code="offer_target_mismatch",
            )
        offers.append(offer.with_(target=None))
    temporal = _optional_node(node, "temporal", what)
    return Dataset(
        id=uid,
        title=_texts(node, "title", what),
        description=_texts(node, "description", what),
        keywords=_texts(node, "keyword", what),
        themes=_references(node, "theme", what),
        spatial=_references(node, "spatial", what),
        temporal=None if temporal is None else _period(temporal, f"{what} temporal"),
        accrual_periodicity=_optional_reference(node, "accrualPeriodicity", what),
        publisher=_parse_agent(node, what),
        contact_point=_parse_contact(node, what),
        license=_optional_reference(node, "license", what),
        issued=_optional_instant(node, "issued", what),
        modified=_optional_instant(node, "modified", what),
        conforms_to=_references(node, "conformsTo", what),
        measures=tuple(
            Measure(
                property=_reference(_one(m, "observedProperty", what), f"{what} measures"),
                unit=_reference(_one(m, "hasUnit", what), f"{what} measures"),
            )
            for m in (_node(v, f"{what} measures") for v in node.get("measures", []))
        ),
        temporal_resolution=_optional_literal(node, "temporalResolution", what),
        in_series=_references(node, "inSeries", what),
        landing_page=_optional_reference(node, "landingPage", what),
        offers=tuple(offers),
        distributions=tuple(
            _parse_distribution(d, f"{what} distribution[{i}]")
            for i, d in enumerate(_required(node, "distribution", what))
        ),
    )


def _parse_agent(node: Node, what: str) -> Agent | None:
    agent = _optional_node(node, "publisher", what)
    if agent is None:
        return None
    what = f"{what} publisher"
    return Agent(
        id=_optional_id(agent),
        name=_texts(agent, "name", what),
        identifier=_optional_literal(agent, "identifier", what),
        homepage=_optional_reference(agent, "homepage", what),
    )


def _parse_contact(node: Node, what: str) -> ContactPoint | None:
    contact = _optional_node(node, "contactPoint", what)
    if contact is None:
        return None
    what = f"{what} contactPoint"
    email = _optional_reference(contact, "hasEmail", what)
    telephone = _optional_reference(contact, "hasTelephone", what)
    return ContactPoint(
        id=_optional_id(contact),
        name=_texts(contact, "fn", what),
        email=email.removeprefix("mailto:") if email else None,
        telephone=telephone.removeprefix("tel:") if telephone else None,
        url=_optional_reference(contact, "hasURL", what),
    )


def _period(node: Node, what: str) -> PeriodOfTime:
    try:
        return PeriodOfTime(
            start=_optional_instant(node, "startDate", what),
            end=_optional_instant(node, "endDate", what),
        )
    except CatalogError as exc:
        raise CatalogError(f"{what}: {exc}", code=exc.code) from exc


def _parse_catalog(data: object, what: str) -> Catalog:
    node = _node(data, what)
    uid = _id(node, what)
    what = f"catalog {uid!r}"
    _check_type(node, "Catalog", what, required=True)
    if "hasPolicy" in node:
        raise CatalogError(
            f"{what} carries hasPolicy; a DSP Catalog must not", code="invalid_catalog"
        )
    participant = node.get("participantId", [])
    return Catalog(
        id=uid,
        participant_id=_reference(participant[0], f"{what} participantId") if participant else None,
        title=_texts(node, "title", what),
        description=_texts(node, "description", what),
        publisher=_parse_agent(node, what),
        datasets=tuple(parse_dataset(d) for d in node.get("dataset", [])),
        services=tuple(_parse_service(s, f"{what} service") for s in node.get("service", [])),
        catalogs=tuple(_parse_catalog(c, f"{what} catalog") for c in node.get("catalog", [])),
        distributions=tuple(
            _parse_distribution(d, f"{what} distribution") for d in node.get("distribution", [])
        ),
    )


def _parse_distribution(data: object, what: str) -> Distribution:
    node = _node(data, what)
    _check_type(node, "Distribution", what, required=False)
    formats = _required(node, "format", what)
    access = _required(node, "accessService", what)
    if len(formats) != 1 or len(access) != 1:
        raise CatalogError(
            f"{what} needs exactly one format and one accessService", code="invalid_field"
        )
    modes = node.get("servingMode", [])
    if len(modes) > 1:
        raise CatalogError(f"{what} states more than one servingMode", code="invalid_field")
    mode = _reference(modes[0], f"{what} servingMode") if modes else None
    service = None
    if isinstance(access[0], Mapping) and set(access[0]) != {"@id"}:
        service = _parse_service(access[0], f"{what} accessService")
        access_service = service.id
    else:
        access_service = _reference(access[0], f"{what} accessService")
    media_type = _optional_reference(node, "mediaType", what)
    return Distribution(
        id=_optional_id(node),
        format=_reference(formats[0], f"{what} format"),
        access_service=access_service,
        service=service,
        serving_mode=mode and _expand(mode),
        title=_texts(node, "title", what),
        description=_texts(node, "description", what),
        media_type=media_type and media_type_token(media_type),
        license=_optional_reference(node, "license", what),
        conforms_to=_references(node, "conformsTo", what),
    )


def _parse_service(data: object, what: str) -> DataService:
    node = _node(data, what)
    uid = _id(node, what)
    _check_type(node, "DataService", what, required=False)
    what = f"data service {uid!r}"
    urls = _required(node, "endpointURL", what)
    return DataService(
        id=uid,
        endpoint_url=_reference(urls[0], f"{what} endpointURL"),
        title=_texts(node, "title", what),
        description=_texts(node, "description", what),
        endpoint_description=_optional_reference(node, "endpointDescription", what),
        conforms_to=_references(node, "conformsTo", what),
    )


# -- JSON helpers -----------------------------------------------------------------------------

Node = dict[str, list[Any]]


def _expand(name: str) -> str:
    prefix, sep, local = name.partition(":")
    return _PREFIXES[prefix] + local if sep and prefix in _PREFIXES else name


def _key(key: str) -> str:
    return _BY_IRI.get(_expand(key), key)


def _node(data: object, what: str) -> Node:
    node: Node = {}
    for key, value in _object(data, what).items():
        if isinstance(key, str):
            node.setdefault(_key(key), []).extend(_flatten(value))
    return node


def _flatten(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return [item for v in value for item in _flatten(v)]
    return [value]


def _object(data: object, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise CatalogError(f"{what} must be a JSON object", code="invalid_field")
    return data


def _required(node: Node, key: str, what: str) -> list[Any]:
    values = node.get(key, [])
    if not values:
        raise CatalogError(f"{what} has no {key!r}", code="missing_field")
    return values


def _id(node: Node, what: str) -> str:
    values = node.get("@id", [])
    if len(values) != 1 or not isinstance(values[0], str) or not values[0]:
        raise CatalogError(f"{what} has no @id", code="missing_field")
    return str(values[0])


def _check_type(node: Node, expected: str, what: str, *, required: bool) -> None:
    types = node.get("@type", [])
    names = {_local(t) for t in types if isinstance(t, str)}
    if expected in names or (not types and not required):
        return
    raise CatalogError(
        f"{what} has @type {types or None!r}; expected {expected!r}", code="wrong_type"
    )


def _local(name: str) -> str:
    full = _expand(name)
    return full[len(_DCAT) :] if full.startswith(_DCAT) else full


def _string(value: Any, what: str) -> str:
    if isinstance(value, Mapping) and isinstance(value.get("@value"), str):
        value = value["@value"]
    if isinstance(value, str):
        return value
    raise CatalogError(f"{what} must be a string", code="invalid_field")


def _reference(value: Any, what: str) -> str:
    if isinstance(value, Mapping) and isinstance(value.get("@id"), str):
        value = value["@id"]
    if isinstance(value, str) and value:
        return value
    raise CatalogError(f"{what} must be a non-empty string or {{'@id': ...}}", code="invalid_field")


def _texts(node: Node, key: str, what: str) -> Texts:
    out = []
    for value in node.get(key, []):
        language = value.get("@language") if isinstance(value, Mapping) else None
        if language is not None and not isinstance(language, str):
            raise CatalogError(f"{what} {key}: @language must be a string", code="invalid_field")
        out.append(Text(_string(value, f"{what} {key}"), language or None))
    return tuple(out)


def _references(node: Node, key: str, what: str) -> tuple[str, ...]:
    return tuple(_reference(v, f"{what} {key}") for v in node.get(key, []))


def _one(node: Node, key: str, what: str) -> Any:
    values = node.get(key, [])
    if len(values) != 1:
        raise CatalogError(f"{what} needs exactly one {key!r}", code="invalid_field")
    return values[0]


def _optional_reference(node: Node, key: str, what: str) -> str | None:
    return _reference(_one(node, key, what), f"{what} {key}") if key in node else None


def _optional_literal(node: Node, key: str, what: str) -> str | None:
    return _string(_one(node, key, what), f"{what} {key}") if key in node else None


def _optional_node(node: Node, key: str, what: str) -> Node | None:
    return _node(_one(node, key, what), f"{what} {key}") if key in node else None


def _optional_id(node: Node) -> str | None:
    values = node.get("@id", [])
    return str(values[0]) if values and isinstance(values[0], str) else None


def _optional_instant(node: Node, key: str, what: str) -> Instant | None:
    if key not in node:
        return None
    return parse_instant(_string(_one(node, key, what), f"{what} {key}"), f"{what} {key}")
