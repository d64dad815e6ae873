"""Catalogue <-> DSP 2025-1 JSON.

Output is the exact compact form of the spec's examples (`@context` array, unprefixed DSP
terms, arrays where the schema has arrays, `"@type"` on every Dataset and Distribution because
the DSP context scopes `hasPolicy` / `distribution` to those types). Descriptive DCAT
properties the DSP context does not name are written with the prefixes it declares
(`dct:title`, `dcat:keyword`, ...).

Input also accepts prefixed and full-IRI keys and single values where arrays are expected.
Policies attached to a Distribution (`hasPolicy` there) are not modelled yet and are skipped.

A Distribution's serving mode (`tsu:servingMode`, see `model.py`) is written with its full IRI
as key and an `{"@id": ...}` value: the DSP context declares no `tsu` prefix, and `@context`
may only hold strings (the schema), so a full IRI is the one spelling every JSON-LD processor
reads the same without fetching anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from catalog.errors import CatalogError
from catalog.model import SERVING_MODE, TSU, Catalog, DataService, Dataset, Distribution
from policies.errors import PolicyError
from policies.odrl import parse_policy

DSP_CONTEXT = "https://w3id.org/dspace/2025/1/context.jsonld"

_DCAT = "http://www.w3.org/ns/dcat#"
_DCT = "http://purl.org/dc/terms/"
_ODRL = "http://www.w3.org/ns/odrl/2/"
_DSPACE = "https://w3id.org/dspace/2025/1/"
_PREFIXES = {"dcat": _DCAT, "dct": _DCT, "odrl": _ODRL, "dspace": _DSPACE, "tsu": TSU}

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
    if dataset.title:
        out["dct:title"] = dataset.title
    if dataset.description:
        out["dct:description"] = dataset.description
    if dataset.keywords:
        out["dcat:keyword"] = list(dataset.keywords)
    if dataset.themes:
        out["dcat:theme"] = [{"@id": t} for t in dataset.themes]
    out["hasPolicy"] = [o.to_json(include_target=False) for o in dataset.offers]
    out["distribution"] = [_distribution(d) for d in dataset.distributions]
    return out


def _catalog_node(catalog: Catalog) -> dict[str, Any]:
    out: dict[str, Any] = {"@id": catalog.id, "@type": "Catalog"}
    if catalog.participant_id:
        out["participantId"] = catalog.participant_id
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
    out: dict[str, Any] = {
        "@type": "Distribution",
        "format": distribution.format,
        "accessService": _service(service) if service else distribution.access_service,
    }
    if distribution.serving_mode:
        out[SERVING_MODE] = {"@id": distribution.serving_mode}
    return out


def _service(service: DataService) -> dict[str, Any]:
    return {"@id": service.id, "@type": "DataService", "endpointURL": service.endpoint_url}


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
    return Dataset(
        id=uid,
        title=_text(node.get("title", []), f"{what} title"),
        description=_text(node.get("description", []), f"{what} description"),
        keywords=tuple(_string(k, f"{what} keyword") for k in node.get("keyword", [])),
        themes=tuple(_reference(t, f"{what} theme") for t in node.get("theme", [])),
        offers=tuple(offers),
        distributions=tuple(
            _parse_distribution(d, f"{what} distribution[{i}]")
            for i, d in enumerate(_required(node, "distribution", what))
        ),
    )


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
    if isinstance(access[0], Mapping) and set(access[0]) != {"@id"}:
        service = _parse_service(access[0], f"{what} accessService")
        return Distribution(
            format=_reference(formats[0], f"{what} format"),
            access_service=service.id,
            service=service,
            serving_mode=mode and _expand(mode),
        )
    return Distribution(
        format=_reference(formats[0], f"{what} format"),
        access_service=_reference(access[0], f"{what} accessService"),
        serving_mode=mode and _expand(mode),
    )


def _parse_service(data: object, what: str) -> DataService:
    node = _node(data, what)
    uid = _id(node, what)
    _check_type(node, "DataService", what, required=False)
    urls = _required(node, "endpointURL", f"data service {uid!r}")
    return DataService(
        id=uid, endpoint_url=_reference(urls[0], f"data service {uid!r} endpointURL")
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


def _text(values: list[Any], what: str) -> str | None:
    # Several language versions may come; this model keeps one (untagged first).
    if not values:
        return None
    untagged = [v for v in values if not (isinstance(v, Mapping) and "@language" in v)]
    return _string((untagged or values)[0], what)
