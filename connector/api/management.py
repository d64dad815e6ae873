"""The operator's management API (bearer token from the participant's config; OpenAPI at /docs)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import anyio
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from catalog.dsp import catalog_to_json
from connector.api.deps import ConnectorDep, OperatorDep

if TYPE_CHECKING:
    from connector.app import Connector
from connector.control.catalog import fetch_catalog, fetch_dataset
from connector.control.process import dsp_state
from connector.errors import Conflict, MessageError, NotFound
from connector.protocol.roles import Role
from connector.protocol.transfer import TransferEvent
from connector.store.tables import DatasetRow, NegotiationRow, OfferRow, TransferRow
from policies.errors import PolicyError
from policies.odrl import Policy, parse_policy

T = TypeVar("T")
router = APIRouter(prefix="/management", tags=["management"], dependencies=[OperatorDep])


def _policy(data: dict[str, Any]) -> Policy:
    try:
        return parse_policy(data)
    except PolicyError as exc:
        raise MessageError(f"the policy is not valid ODRL: {exc}", code="invalid_policy") from exc


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


class NegotiationIn(BaseModel):
    provider: str = Field(description="The provider's DID.")
    dataset_id: str
    offer_id: str | None = Field(
        None, description="Which of the dataset's offers; the first when absent."
    )
    provider_address: str | None = Field(
        None, description="The provider's DSP base URL; found from its DID when absent."
    )
    offer: dict[str, Any] | None = Field(
        None,
        description="The offer exactly as the provider's catalogue gave it (ODRL with its @id):"
        " the catalogue is then not read again. The provider still checks it is one of its own.",
    )


class OfferToIn(BaseModel):
    consumer: str = Field(description="The consumer's DID.")
    consumer_address: str = Field(
        description="The consumer's DSP base URL (where it takes initial offers)."
    )
    dataset_id: str
    offer_id: str


class CounterOfferIn(BaseModel):
    policy: dict[str, Any]


class TerminateIn(BaseModel):
    code: str = "terminated_by_operator"
    reason: str = "terminated by the operator"


class TransferIn(BaseModel):
    agreement_id: str
    format: Literal["HttpData-PULL", "HttpData-PUSH"] = "HttpData-PULL"
    data_address: dict[str, Any] | None = Field(
        None, description="For push: where the provider sends the data."
    )


class TransferActionIn(BaseModel):
    code: str | None = None
    reason: str | None = None


def _negotiation(row: NegotiationRow, events: Any = None) -> dict[str, Any]:
    first = "REQUESTED" if row.offer_by == Role.CONSUMER else "OFFERED"
    out: dict[str, Any] = {
        "id": row.id,
        "role": row.role,
        "state": dsp_state(row, first),
        "peer_pid": row.peer_pid,
        "counterparty": row.counterparty_did,
        "counterparty_address": row.counterparty_address,
        "dataset_id": row.dataset_id,
        "offer": row.offer,
        "agreement_id": row.agreement_id,
        "awaiting_decision": row.awaiting_decision,
        "pending": row.pending,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }
    if events is not None:
        out["events"] = [_event(e) for e in events]
    return out


def _transfer(row: TransferRow, events: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row.id,
        "role": row.role,
        "state": dsp_state(row, "REQUESTED"),
        "peer_pid": row.peer_pid,
        "counterparty": row.counterparty_did,
        "agreement_id": row.agreement_id,
        "format": row.format,
        "data_address": row.data_address,
        "pending": row.pending,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }
    if events is not None:
        out["events"] = [_event(e) for e in events]
    return out


def _event(e: Any) -> dict[str, Any]:
    return {
        "at": e.at,
        "direction": e.direction,
        "message": e.message,
        "from": e.from_state,
        "to": e.to_state,
        "detail": e.detail,
    }


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
    return _policy({"@type": "Offer", **offer_in.policy, "@id": offer_id})


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
    base = provider_address or await connector.provider_base(provider)
    catalog = await fetch_catalog(connector.dispatcher, provider_did=provider, dsp_base=base)
    return catalog_to_json(catalog)


# -- negotiations and agreements ------------------------------------------------------------------


@router.post("/negotiations", status_code=201)
async def start_negotiation(body: NegotiationIn, connector: ConnectorDep) -> dict[str, Any]:
    """Consumer: negotiate for a peer's dataset under one of its offers."""
    base = body.provider_address or await connector.provider_base(body.provider)
    if body.offer is not None:
        offers = [_policy(body.offer)]
        if offers[0].uid is None or body.offer_id not in (None, offers[0].uid):
            raise MessageError("the offer needs the @id its provider gave it", code="invalid_offer")
    else:
        dataset = await fetch_dataset(
            connector.dispatcher,
            provider_did=body.provider,
            dsp_base=base,
            dataset_id=body.dataset_id,
        )
        offers = [o for o in dataset.offers if body.offer_id in (None, o.uid)]
    if not offers:
        raise NotFound(f"{body.dataset_id!r} has no offer {body.offer_id!r}", code="unknown_offer")
    row = await connector.store.call(
        connector.negotiations.request,
        provider_did=body.provider,
        provider_address=base,
        dataset_id=body.dataset_id,
        offer=offers[0],
    )
    return _negotiation(row)


@router.post("/negotiations/offers", status_code=201)
async def offer_to_consumer(body: OfferToIn, connector: ConnectorDep) -> dict[str, Any]:
    """Provider: offer one of our dataset offers to a consumer (provider-initiated negotiation)."""
    row = await connector.store.call(
        connector.negotiations.offer_to,
        consumer_did=body.consumer,
        consumer_address=body.consumer_address,
        dataset_id=body.dataset_id,
        offer_id=body.offer_id,
    )
    return _negotiation(row)


@router.get("/negotiations")
async def list_negotiations(
    connector: ConnectorDep,
    role: Role | None = None,
    state: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
) -> list[dict[str, Any]]:
    def read() -> list[dict[str, Any]]:
        with connector.store.transaction() as tx:
            rows = tx.processes(NegotiationRow, role=role, state=state, limit=limit, offset=offset)
            return [_negotiation(r) for r in rows]

    return await connector.store.call(read)


WaitQuery = Query(
    None,
    description="Long-poll: answer once the process is in one of these states with nothing left "
    "to send (TERMINATED always counts), or when `timeout` runs out.",
)
TimeoutQuery = Query(30.0, ge=0, le=300, description="Seconds to wait at most, with `wait`.")


async def _settled(
    connector: Connector,
    pid: str,
    read: Callable[[], dict[str, Any]],
    wait: list[str] | None,
    timeout: float,
) -> dict[str, Any]:
    """Read a process; with `wait`, hold the answer until it settles in a wanted state."""
    if not wait:
        return await connector.store.call(read)
    wanted = set(wait) | {"TERMINATED"}
    deadline = anyio.current_time() + timeout
    while True:
        # before reading, so no change can slip in between
        change = connector.changes.watch(pid, wanted)
        record = await connector.store.call(read)
        left = deadline - anyio.current_time()
        if (record["state"] in wanted and not record["pending"]) or left <= 0:
            connector.changes.forget(pid, change)
            return record
        await connector.changes.wait(pid, change, left)


@router.get("/negotiations/{pid}")
async def get_negotiation(
    pid: str,
    connector: ConnectorDep,
    wait: list[str] | None = WaitQuery,
    timeout: float = TimeoutQuery,
) -> dict[str, Any]:
    """One negotiation with its history (optionally waiting until it settles)."""

    def read() -> dict[str, Any]:
        with connector.store.transaction() as tx:
            return _negotiation(tx.process(NegotiationRow, pid), tx.events(pid))

    return await _settled(connector, pid, read, wait, timeout)


@router.post("/negotiations/{pid}/approve")
async def approve(pid: str, connector: ConnectorDep) -> dict[str, Any]:
    """Provider: agree to a negotiation waiting for a decision."""
    return _negotiation(await connector.store.call(connector.negotiations.approve, pid))


@router.post("/negotiations/{pid}/counter-offer")
async def counter_offer(pid: str, body: CounterOfferIn, connector: ConnectorDep) -> dict[str, Any]:
    """Provider: answer a waiting negotiation with other terms."""
    return _negotiation(
        await connector.store.call(connector.negotiations.counter_offer, pid, _policy(body.policy))
    )


@router.post("/negotiations/{pid}/terminate")
async def terminate_negotiation(
    pid: str, body: TerminateIn, connector: ConnectorDep
) -> dict[str, Any]:
    """Either side: end a negotiation."""
    return _negotiation(
        await connector.store.call(
            connector.negotiations.terminate, pid, code=body.code, reason=body.reason
        )
    )


@router.get("/agreements")
async def list_agreements(
    connector: ConnectorDep, limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0)
) -> list[dict[str, Any]]:
    def read() -> list[dict[str, Any]]:
        with connector.store.transaction() as tx:
            return [a.model_dump() for a in tx.agreements(limit=limit, offset=offset)]

    return await connector.store.call(read)


@router.get("/agreements/{agreement_id:path}")
async def get_agreement(agreement_id: str, connector: ConnectorDep) -> dict[str, Any]:
    def read() -> dict[str, Any]:
        with connector.store.transaction() as tx:
            return tx.agreement(agreement_id).model_dump()

    return await connector.store.call(read)


# -- transfers -------------------------------------------------------------------------------------


@router.post("/transfers", status_code=201)
async def start_transfer(body: TransferIn, connector: ConnectorDep) -> dict[str, Any]:
    """Consumer: ask the provider of an agreement to start a transfer."""
    row = await connector.store.call(
        connector.transfers.request,
        agreement_id=body.agreement_id,
        format=body.format,
        data_address=body.data_address,
    )
    return _transfer(row)


@router.get("/transfers")
async def list_transfers(
    connector: ConnectorDep,
    role: Role | None = None,
    state: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
) -> list[dict[str, Any]]:
    def read() -> list[dict[str, Any]]:
        with connector.store.transaction() as tx:
            return [
                _transfer(r)
                for r in tx.processes(
                    TransferRow, role=role, state=state, limit=limit, offset=offset
                )
            ]

    return await connector.store.call(read)


@router.get("/transfers/{pid}")
async def get_transfer(
    pid: str,
    connector: ConnectorDep,
    wait: list[str] | None = WaitQuery,
    timeout: float = TimeoutQuery,
) -> dict[str, Any]:
    """One transfer with its history (optionally waiting until it settles)."""

    def read() -> dict[str, Any]:
        with connector.store.transaction() as tx:
            return _transfer(tx.process(TransferRow, pid), tx.events(pid))

    return await _settled(connector, pid, read, wait, timeout)


_ACTIONS = {
    "suspend": TransferEvent.SUSPENSION,
    "resume": TransferEvent.START,
    "complete": TransferEvent.COMPLETION,
    "terminate": TransferEvent.TERMINATION,
}


@router.post("/transfers/{pid}/{action}")
async def transfer_action(
    pid: str,
    action: Literal["suspend", "resume", "complete", "terminate"],
    body: TransferActionIn,
    connector: ConnectorDep,
) -> dict[str, Any]:
    """Either side: suspend, resume, complete or terminate a transfer."""
    row = await connector.store.call(
        connector.transfers.act, pid, _ACTIONS[action], code=body.code, reason=body.reason
    )
    return _transfer(row)
