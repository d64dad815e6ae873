"""The operator's management API (bearer token from the participant's config; OpenAPI at /docs):
datasets, offers and peers' catalogues here; negotiations, agreements and transfers in
`connector.api.processes`."""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator

from catalog.dsp import catalog_to_json
from connector.api.deps import ConnectorDep, OperatorDep
from connector.api.door import Name
from connector.api.schema import ERRORS_400, ERRORS_401, ERRORS_404, ERRORS_409, ERRORS_502
from connector.control.catalog import fetch_catalog
from connector.control.hold_rules import parse_offer_steps
from connector.control.peers import provider_base
from connector.control.publishing import Publisher, plain_change
from connector.dataplane.errors import SourceMisconfigured
from connector.dataplane.sources import parse_source
from connector.errors import Conflict, MessageError, NotFound
from connector.store import dataset_queries
from connector.store.consent_queries import ConsentQueries
from connector.store.hold_queries import set_offer_steps, steps_of_offers
from connector.store.tables import DatasetRow, EventRow, OfferRow
from policies.errors import PolicyError
from policies.odrl import Policy
from policies.profile import check_policy

router = APIRouter(
    prefix="/management",
    tags=["management"],
    dependencies=[OperatorDep],
    responses=ERRORS_401,
)


def policy_of(data: dict[str, Any]) -> Policy:
    """A policy the operator writes (a dataset's offer, a counter-offer): it must stay inside
    tsunagu's policy profile, so a misspelt operand or action is refused here, naming it,
    instead of making every later decision undecidable."""
    try:
        return check_policy(data)
    except PolicyError as exc:
        raise MessageError(f"the policy is not usable: {exc}", code="invalid_policy") from exc


# -- models ------------------------------------------------------------------------------------


class OfferIn(BaseModel):
    id: Name | None = Field(None, description="Offer id; a urn:uuid is made up when absent.")
    policy: dict[str, Any] = Field(
        description="ODRL Offer in DSP compact JSON (permission, prohibition, ...)."
    )
    requires_approval: bool = Field(
        False, description="Park negotiations for this offer until an operator decides."
    )
    steps: dict[str, str] | None = Field(
        None,
        description="Which later steps wait for the operator (docs/holds.md): after_accept and"
        " finalize ('auto' | 'hold'), transfer_start ('auto' | 'hold' | 'window').",
    )


class PersonalIn(BaseModel):
    subject_field: str = Field(
        min_length=1,
        max_length=256,
        description="The CSV column, JSON field or SQL column naming a row's data subject.",
    )


# An absolute IRI (RFC 3987 in outline): a scheme, a colon, and no spaces or delimiters.
_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]+")


class DatasetIn(BaseModel):
    id: Name = Field(
        min_length=1,
        description="The dataset's id: an absolute IRI, e.g. urn:example:water-level.",
    )
    title: str = Field(min_length=1, max_length=512)
    description: str = Field("", max_length=4096)
    keywords: list[str] = []
    themes: list[str] = Field([], description="Theme concept IRIs.")
    data_address: dict[str, Any] = Field(
        default_factory=dict,
        description="Where the owner's system is (docs/dataplane.md: file, http, sql, mqtt). "
        "Never shown to peers.",
    )
    offers: list[OfferIn] = []
    personal: PersonalIn | None = Field(
        None,
        description="Personal data about data subjects: only rows of subjects whose consent "
        "covers an access are released (docs/consent.md).",
    )

    @field_validator("id")
    @classmethod
    def _iri(cls, value: str) -> str:
        if not _IRI.fullmatch(value):
            raise ValueError(f"{value!r} is not an IRI (e.g. urn:example:water-level)")
        return value


_LANGUAGE_HELP = (
    "The language tag (ja, en, ...) of the texts given. A dataset with a published DCAT "
    "description gets them there too, replacing only that language's text; by default the "
    "language each text is written in (Japanese script: ja, else en)."
)


class DatasetPatch(BaseModel):
    """Only the fields given change; offers are added with POST .../offers."""

    title: str | None = Field(None, min_length=1, max_length=512)
    description: str | None = Field(None, max_length=4096)
    keywords: list[str] | None = None
    themes: list[str] | None = None
    data_address: dict[str, Any] | None = Field(
        None, description="Replaces the data address (never shown to peers)."
    )
    language: str | None = Field(None, description=_LANGUAGE_HELP)


class DatasetPut(BaseModel):
    """The dataset's description as a whole; offers are added with POST .../offers."""

    title: str = Field(min_length=1, max_length=512)
    description: str = Field("", max_length=4096)
    keywords: list[str] = []
    themes: list[str] = Field([], description="Theme concept IRIs.")
    data_address: dict[str, Any] | None = Field(
        None, description="Replaces the data address; kept when absent (never shown to peers)."
    )
    language: str | None = Field(None, description=_LANGUAGE_HELP)


class RetireIn(BaseModel):
    reason: str = Field("", max_length=1024, description="Told to peers that still ask.")


class OfferOut(BaseModel):
    id: str = Field(description="The offer's id (unique on this participant).")
    policy: dict[str, Any] = Field(description="The ODRL offer as stored.")
    requires_approval: bool
    steps: dict[str, str] = Field(
        default_factory=dict,
        description="The steps this offer sets (docs/holds.md); the participant's own rules"
        " decide the others.",
    )


class DatasetOut(BaseModel):
    id: str
    title: str
    description: str
    keywords: list[str]
    themes: list[str]
    data_address: dict[str, Any] = Field(description="Private: never shown to peers.")
    offers: list[OfferOut]
    state: str = Field(description="`published`, or `retired` (no new negotiations).")
    retired_at: datetime | None = None


class CatalogOut(BaseModel):
    """A DSP 2025-1 Catalog (compact JSON-LD, as the provider sent it)."""

    context: list[Any] = Field(alias="@context")
    id: str = Field(alias="@id")
    type: str = Field(alias="@type", description="`Catalog`.")
    participantId: str = Field(description="The provider's DID.")
    dataset: list[dict[str, Any]] = Field([], description="Datasets on offer, with hasPolicy.")
    service: list[dict[str, Any]] = Field([], description="Where to negotiate (DataService).")

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class RemovedOut(BaseModel):
    id: str
    removed: bool = True


class OfferRemovedOut(BaseModel):
    dataset: str
    offer: str
    removed: bool = True


def check_data_address(address: dict[str, Any]) -> None:
    """Refuse a data address the data plane could not use, now rather than at the first read:
    an unknown type or field, or a file that is not there."""
    if not address:
        return  # none yet: the dataset is listed, transfers wait until one is set
    try:
        spec = parse_source(address)
    except SourceMisconfigured as exc:
        raise MessageError(str(exc), code="invalid_data_address") from exc
    if spec.kind == "file":
        path = address.get("path")
        if not isinstance(path, str) or not Path(path).is_absolute():
            raise MessageError(
                f"the file data address needs an absolute 'path', not {path!r}",
                code="invalid_data_address",
            )
        if not Path(path).exists():
            raise MessageError(
                f"the file data address points at {path}, which does not exist",
                code="data_address_missing_file",
            )


# -- datasets and offers -------------------------------------------------------------------------


@router.post(
    "/datasets",
    status_code=201,
    response_model=DatasetOut,
    responses={**ERRORS_400, **ERRORS_409},
)
async def create_dataset(body: DatasetIn, connector: ConnectorDep) -> dict[str, Any]:
    """Publish a dataset (and optionally its offers)."""
    now = connector.clock()
    check_data_address(body.data_address)
    offers = [(o, _offer_policy(o)) for o in body.offers]
    for o in body.offers:
        parse_offer_steps(o.steps)  # a bad step is refused before anything is written
    ids = [p.uid for _, p in offers]
    if len(set(ids)) < len(ids):
        raise MessageError("two offers share one id", code="offer_id_taken")

    def write() -> None:
        with connector.store.transaction() as tx:
            if tx.has_dataset(body.id):
                raise Conflict(f"dataset {body.id!r} exists already", code="dataset_exists")
            for offer_id in ids:
                _offer_id_free(tx, offer_id)
            tx.add(
                DatasetRow(
                    id=body.id,
                    title=body.title,
                    description=body.description,
                    keywords=body.keywords,
                    themes=body.themes,
                    data_address=body.data_address,
                    created_at=now,
                )
            )
            for offer_in, policy in offers:
                tx.add(_offer_row(body.id, offer_in, policy, now))
                set_offer_steps(tx, str(policy.uid), parse_offer_steps(offer_in.steps))
            if body.personal is not None:
                ConsentQueries.mark_personal(tx, body.id, body.personal.subject_field, now)
            _event(tx, connector, body.id, "DatasetPublished", None, "published", now)

    await connector.store.call(write)
    return await get_dataset(body.id, connector)


def _event(
    tx: Any,
    connector: Any,
    dataset_id: str,
    message: str,
    before: str | None,
    after: str,
    now: datetime,
    **detail: Any,
) -> None:
    """An operator's change to a dataset, in the audit trail like every other change."""
    tx.add(
        EventRow(
            at=now,
            process="dataset",
            process_id=dataset_id,
            role="provider",
            direction="local",
            message=message,
            from_state=before,
            to_state=after,
            peer_did=connector.settings.did,
            detail=detail,
        )
    )


def _state(tx: Any, dataset_id: str) -> str:
    return "retired" if dataset_queries.retirement(tx, dataset_id) else "published"


@router.patch(
    "/datasets/{dataset_id:path}",
    response_model=DatasetOut,
    responses={**ERRORS_400, **ERRORS_404},
)
async def update_dataset(
    dataset_id: str, body: DatasetPatch, connector: ConnectorDep
) -> dict[str, Any]:
    """Change a dataset's description or data address; agreements made stay as they were.
    A published DCAT description changes with it (checked by the same shapes as any
    publication: refused, nothing changes), retired or not."""
    changes = body.model_dump(exclude_none=True, exclude={"language"})
    return await _change_dataset(dataset_id, changes, body.language, connector)


@router.put(
    "/datasets/{dataset_id:path}",
    response_model=DatasetOut,
    responses={**ERRORS_400, **ERRORS_404},
)
async def replace_dataset(
    dataset_id: str, body: DatasetPut, connector: ConnectorDep
) -> dict[str, Any]:
    """Replace a dataset's title, description, keywords and themes (and its data address, if
    given); offers and agreements stay. A published DCAT description changes as with PATCH."""
    changes = body.model_dump(exclude={"language"})
    if changes["data_address"] is None:
        del changes["data_address"]
    return await _change_dataset(dataset_id, changes, body.language, connector)


async def _change_dataset(
    dataset_id: str, changes: dict[str, Any], language: str | None, connector: Any
) -> dict[str, Any]:
    if "data_address" in changes:
        check_data_address(changes["data_address"])
    now = connector.clock()
    publisher = Publisher(connector.store, connector.catalog, connector.clock)
    text = plain_change(changes, language)

    def write() -> None:
        # the description peers see is checked before anything is written
        revision = (
            publisher.prepare_change(dataset_id, text)
            if text and publisher.is_described(dataset_id)
            else None
        )
        with connector.store.transaction() as tx:
            row = tx.dataset(dataset_id)
            for name, value in changes.items():
                setattr(row, name, value)
            tx.add(row)
            if revision is not None:
                publisher.store_revision(tx, revision)
            state = _state(tx, dataset_id)
            _event(
                tx,
                connector,
                dataset_id,
                "DatasetUpdated",
                state,
                state,
                now,
                fields=sorted(changes),
            )

    await connector.store.call(write)
    return await get_dataset(dataset_id, connector)


@router.post(
    "/datasets/{dataset_id:path}/retire",
    response_model=DatasetOut,
    responses={**ERRORS_404},
)
async def retire_dataset(
    dataset_id: str, connector: ConnectorDep, body: RetireIn | None = None
) -> dict[str, Any]:
    """Take a dataset off the catalogue: new negotiations are refused (`dataset_retired`),
    agreements already made and their transfers go on. Retiring twice changes nothing."""
    now = connector.clock()
    reason = body.reason if body else ""

    def write() -> None:
        with connector.store.transaction() as tx:
            tx.dataset(dataset_id)
            if dataset_queries.retire(tx, dataset_id, now=now, reason=reason):
                _event(
                    tx,
                    connector,
                    dataset_id,
                    "DatasetRetired",
                    "published",
                    "retired",
                    now,
                    reason=reason,
                )

    await connector.store.call(write)
    return await get_dataset(dataset_id, connector)


# Declared before DELETE /datasets/{id}: that route's path parameter would swallow this one.
@router.delete(
    "/datasets/{dataset_id:path}/offers/{offer_id}",
    response_model=OfferRemovedOut,
    responses={**ERRORS_404, **ERRORS_409},
)
async def withdraw_offer(dataset_id: str, offer_id: str, connector: ConnectorDep) -> dict[str, Any]:
    """Withdraw one offer: peers no longer see it and cannot negotiate under it; negotiations and
    agreements already made under it stay. 404 `unknown_offer` if the dataset has no such offer;
    409 `last_offer` if it is the dataset's only one (a dataset without offers cannot be
    negotiated: retire the dataset instead)."""
    now = connector.clock()

    def write() -> None:
        with connector.store.transaction() as tx:
            tx.dataset(dataset_id)
            ours = tx.offer(offer_id)
            if ours is None or ours.dataset_id != dataset_id:
                raise NotFound(
                    f"dataset {dataset_id!r} has no offer {offer_id!r}", code="unknown_offer"
                )
            if len(list(tx.offers([dataset_id]))) == 1:
                raise Conflict(
                    f"offer {offer_id!r} is the only offer of dataset {dataset_id!r}; add "
                    "another first, or retire the dataset (`tsunagu dataset retire`)",
                    code="last_offer",
                )
            state = _state(tx, dataset_id)
            dataset_queries.withdraw_offer(tx, offer_id, dataset_id)
            _event(tx, connector, dataset_id, "OfferWithdrawn", state, state, now, offer=offer_id)

    await connector.store.call(write)
    return {"dataset": dataset_id, "offer": offer_id, "removed": True}


@router.delete(
    "/datasets/{dataset_id:path}",
    response_model=RemovedOut,
    responses={**ERRORS_404, **ERRORS_409},
)
async def remove_dataset(dataset_id: str, connector: ConnectorDep) -> dict[str, Any]:
    """Delete a dataset and its offers, if no negotiation or agreement refers to it (else 409
    `dataset_in_use`: retire it instead)."""
    now = connector.clock()

    def write() -> None:
        with connector.store.transaction() as tx:
            tx.dataset(dataset_id)
            used = dataset_queries.references(tx, dataset_id)
            if any(used.values()):
                raise Conflict(
                    f"dataset {dataset_id!r} is referred to by {used['negotiations']} "
                    f"negotiation(s) and {used['agreements']} agreement(s); retire it instead "
                    "(`tsunagu dataset retire`), which keeps them",
                    code="dataset_in_use",
                )
            before = _state(tx, dataset_id)
            dataset_queries.remove(tx, dataset_id, own_did=connector.did)
            _event(tx, connector, dataset_id, "DatasetRemoved", before, "removed", now)

    await connector.store.call(write)
    return {"id": dataset_id, "removed": True}


def _offer_id_free(tx: Any, offer_id: str | None) -> None:
    """Offer ids are unique on a participant: a peer names the offer by id alone."""
    taken = tx.offer(offer_id) if offer_id else None
    if taken is not None:
        raise Conflict(
            f"offer id {offer_id!r} is taken (by dataset {taken.dataset_id!r}); "
            "give this offer another id",
            code="offer_id_taken",
        )


def _offer_policy(offer_in: OfferIn) -> Policy:
    """The offer as ODRL; its id is the one given, the policy's own, or a fresh urn:uuid."""
    offer_id = offer_in.id or offer_in.policy.get("@id") or f"urn:uuid:{uuid.uuid4()}"
    return policy_of({"@type": "Offer", **offer_in.policy, "@id": offer_id})


def _offer_row(dataset_id: str, offer_in: OfferIn, policy: Policy, now: datetime) -> OfferRow:
    stored = dataclasses.replace(policy, target=None, kind="Offer")
    offer_id = stored.uid
    return OfferRow(
        id=offer_id,
        dataset_id=dataset_id,
        policy=stored.to_json(),
        requires_approval=offer_in.requires_approval,
        created_at=now,
    )


@router.get("/datasets", response_model=list[DatasetOut])
async def list_datasets(connector: ConnectorDep) -> list[dict[str, Any]]:
    """Every dataset with its offers, state and (private) data address."""

    def read() -> list[dict[str, Any]]:
        with connector.store.transaction() as tx:
            offers: dict[str, list[OfferRow]] = {}
            for o in tx.offers():
                offers.setdefault(o.dataset_id, []).append(o)
            retired = dataset_queries.retired_ids(tx)
            steps = steps_of_offers(tx)
            return [
                _dataset(d, offers.get(d.id, []), steps, retired=d.id in retired)
                for d in tx.datasets()
            ]

    return await connector.store.call(read)


@router.get(
    "/datasets/{dataset_id:path}/offers", response_model=list[OfferOut], responses=ERRORS_404
)
async def dataset_offers(dataset_id: str, connector: ConnectorDep) -> list[dict[str, Any]]:
    """The dataset's offers."""
    return (await get_dataset(dataset_id, connector))["offers"]  # type: ignore[no-any-return]


@router.post(
    "/datasets/{dataset_id:path}/offers",
    status_code=201,
    response_model=OfferOut,
    responses={**ERRORS_400, **ERRORS_404, **ERRORS_409},
)
async def add_offer(dataset_id: str, body: OfferIn, connector: ConnectorDep) -> dict[str, Any]:
    """Attach an offer (ODRL policy) to a dataset."""
    policy = _offer_policy(body)
    now = connector.clock()

    def write() -> dict[str, Any]:
        with connector.store.transaction() as tx:
            tx.dataset(dataset_id)
            row = _offer_row(dataset_id, body, policy, now)
            _offer_id_free(tx, row.id)
            tx.add(row)
            steps = parse_offer_steps(body.steps)
            set_offer_steps(tx, row.id, steps)
            return {
                "id": row.id,
                "policy": row.policy,
                "requires_approval": row.requires_approval,
                "steps": steps,
            }

    return await connector.store.call(write)


@router.get("/datasets/{dataset_id:path}", response_model=DatasetOut, responses=ERRORS_404)
async def get_dataset(dataset_id: str, connector: ConnectorDep) -> dict[str, Any]:
    """One dataset with its offers, state and (private) data address."""

    def read() -> dict[str, Any]:
        with connector.store.transaction() as tx:
            retirement = dataset_queries.retirement(tx, dataset_id)
            offers = list(tx.offers([dataset_id]))
            return _dataset(
                tx.dataset(dataset_id),
                offers,
                steps_of_offers(tx, [o.id for o in offers]),
                retired=retirement is not None,
                retired_at=retirement.retired_at if retirement else None,
            )

    return await connector.store.call(read)


def _dataset(
    row: DatasetRow,
    offers: list[OfferRow],
    steps: Mapping[str, dict[str, Any]],
    *,
    retired: bool = False,
    retired_at: datetime | None = None,
) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "description": row.description,
        "keywords": row.keywords,
        "themes": row.themes,
        "data_address": row.data_address,
        "offers": [
            {
                "id": o.id,
                "policy": o.policy,
                "requires_approval": o.requires_approval,
                "steps": steps.get(o.id, {}),
            }
            for o in offers
        ],
        "state": "retired" if retired else "published",
        "retired_at": retired_at,
    }


# -- peers' catalogues ----------------------------------------------------------------------------


@router.get(
    "/catalog",
    response_model=CatalogOut,
    response_model_by_alias=True,
    responses={**ERRORS_400, **ERRORS_502},
)
async def peer_catalog(
    connector: ConnectorDep,
    provider: str = Query(description="The provider's DID."),
    provider_address: str | None = Query(
        None, description="Its DSP base URL; found from the DID when absent."
    ),
) -> dict[str, Any]:
    """Read a peer's catalogue over DSP (as that peer lets us see it)."""
    base = provider_address or await provider_base(connector.resolver, connector.outbound, provider)
    catalog = await fetch_catalog(connector.dispatcher, provider_did=provider, dsp_base=base)
    return catalog_to_json(catalog)
