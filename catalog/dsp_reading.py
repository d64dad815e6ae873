"""Reading DSP 2025-1 catalogue JSON into the model (see `catalog.dsp` for the forms).

Input accepts prefixed and full-IRI keys and single values where arrays are expected;
unknown keys are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from catalog.dsp_keys import _BY_IRI, _DCAT, _PREFIXES
from catalog.errors import CatalogError
from catalog.model import (
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
from catalog.namespaces import media_type_token
from policies.errors import PolicyError
from policies.odrl import parse_policy

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
    known = _KEYS.get(key)
    if known is None:
        known = _BY_IRI.get(_expand(key), key)
        if len(_KEYS) < 4096:  # the keys peers write are few; a hostile peer cannot grow this
            _KEYS[key] = known
    return known


_KEYS: dict[str, str] = {}


def _node(data: object, what: str) -> Node:
    node: Node = {}
    for key, value in _object(data, what).items():
        if isinstance(key, str):
            # harvesting reads tens of thousands of these: the common shapes without recursion
            if value is None:
                flat: list[Any] = []
            elif isinstance(value, list):
                flat = value if not any(isinstance(v, list) for v in value) else _flatten(value)
                flat = [v for v in flat if v is not None]
            else:
                flat = [value]
            k = _key(key)
            if k in node:
                node[k].extend(flat)
            else:
                node[k] = flat
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
