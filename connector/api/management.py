"""The operator's management API (bearer token from the participant's config; OpenAPI at /docs):
datasets, offers and peers' catalogues here; negotiations, agreements and transfers in
`connector.api.processes`."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from catalog.dsp import catalog_to_json
from connector.api.deps import ConnectorDep, OperatorDep
from connector.control.catalog import fetch_catalog
from connector.control.peers import provider_base
from connector.errors import Conflict, MessageError
from connector.store.tables import DatasetRow, OfferRow
from policies.errors import PolicyError
from policies.odrl import Policy
from policies.profile import check_policy

router = APIRouter(prefix="/management", tags=["management"], dependencies=[OperatorDep])


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
    id: str | None = Field(None, description="Offer id; a urn:uuid is made up when absent.")
    policy: dict[str, Any] = Field(
        description="ODRL Offer in DSP compact JSON (permission, prohibition, ...)."
    )
    requires_approval: bool = Field(
        False, description="Park negotiations for this offer until an operator decides."
    )


class DatasetIn(BaseModel):
    id: str = Field(min_length=1, max_length=512)
    title: str = Field(min_length=1, max_length=512)
    description: str = Field("", max_length=4096)
    keywords: list[str] = []
    themes: list[str] = []
    data_address: dict[str, Any] = Field(
        default_factory=dict, description="Where the owner's system is. Never shown to peers."
    )
    offers: list[OfferIn] = []


# -- datasets and offers -------------------------------------------------------------------------


@router.post("/datasets", status_code=201)
async def create_dataset(body: DatasetIn, connector: ConnectorDep) -> dict[str, Any]:
    """Publish a dataset (and optionally its offers)."""
    now = connector.clock()
    offers = [(o, _offer_policy(o)) for o in body.offers]

    def write() -> None:
        with connector.store.transaction() as tx:
            if tx.has_dataset(body.id):
                raise Conflict(f"dataset {body.id!r} exists already", code="dataset_exists")
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

    await connector.store.call(write)
    return await get_dataset(body.id, connector)


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


@router.get("/datasets")
async def list_datasets(connector: ConnectorDep) -> list[dict[str, Any]]:
    """Every dataset with its offers and (private) data address."""

    def read() -> list[dict[str, Any]]:
        with connector.store.transaction() as tx:
            offers: dict[str, list[OfferRow]] = {}
            for o in tx.offers():
                offers.setdefault(o.dataset_id, []).append(o)
            return [_dataset(d, offers.get(d.id, [])) for d in tx.datasets()]

    return await connector.store.call(read)


@router.get("/datasets/{dataset_id:path}/offers")
async def dataset_offers(dataset_id: str, connector: ConnectorDep) -> list[dict[str, Any]]:
    return (await get_dataset(dataset_id, connector))["offers"]  # type: ignore[no-any-return]


@router.post("/datasets/{dataset_id:path}/offers", status_code=201)
async def add_offer(dataset_id: str, body: OfferIn, connector: ConnectorDep) -> dict[str, Any]:
    """Attach an offer (ODRL policy) to a dataset."""
    policy = _offer_policy(body)
    now = connector.clock()

    def write() -> dict[str, Any]:
        with connector.store.transaction() as tx:
            tx.dataset(dataset_id)
            row = _offer_row(dataset_id, body, policy, now)
            if tx.offer(row.id) is not None:
                raise Conflict(f"offer {row.id!r} exists already", code="offer_exists")
            tx.add(row)
            return {"id": row.id, "policy": row.policy, "requires_approval": row.requires_approval}

    return await connector.store.call(write)


@router.get("/datasets/{dataset_id:path}")
async def get_dataset(dataset_id: str, connector: ConnectorDep) -> dict[str, Any]:
    def read() -> dict[str, Any]:
        with connector.store.transaction() as tx:
            return _dataset(tx.dataset(dataset_id), list(tx.offers([dataset_id])))

    return await connector.store.call(read)


def _dataset(row: DatasetRow, offers: list[OfferRow]) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "description": row.description,
        "keywords": row.keywords,
        "themes": row.themes,
        "data_address": row.data_address,
        "offers": [
            {"id": o.id, "policy": o.policy, "requires_approval": o.requires_approval}
            for o in offers
        ],
    }


# -- peers' catalogues ----------------------------------------------------------------------------


@router.get("/catalog")
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
