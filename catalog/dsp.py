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

Reading is in `catalog.dsp_reading` (re-exported here); input also accepts prefixed and
full-IRI keys and single values where arrays are expected.
Policies attached to a Distribution (`hasPolicy` there) are not modelled yet and are skipped.

A Distribution's serving mode (`tsu:servingMode`, see `model.py`) is written with its full IRI
as key and an `{"@id": ...}` value: the DSP context declares no `tsu` prefix, and `@context`
may only hold strings (the schema), so a full IRI is the one spelling every JSON-LD processor
reads the same without fetching anything.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from catalog.dsp_keys import DSP_CONTEXT
from catalog.dsp_reading import parse_catalog, parse_dataset
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
    Text,
    Texts,
)
from catalog.namespaces import FOAF, QUDT, SOSA, VCARD, media_type_iri

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


__all__ = [
    "DSP_CONTEXT",
    "catalog_to_json",
    "dataset_to_json",
    "parse_catalog",
    "parse_dataset",
]
