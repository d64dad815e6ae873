"""The operator's API for negotiations, agreements and transfers (part of /management)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from connector.api.deps import ConnectorDep, OperatorDep
from connector.api.door import Address, Identifier, Name, OffsetQuery
from connector.api.management import policy_of
from connector.api.process_models import AgreementOut, NegotiationOut, TransferOut
from connector.api.schema import ERRORS_400, ERRORS_401, ERRORS_404, ERRORS_409, ERRORS_502
from connector.control.catalog import fetch_dataset
from connector.control.hold_rules import accept_rules_of
from connector.control.holds import waiting_json
from connector.control.peers import dsp_base_of, provider_base
from connector.control.process import dsp_state
from connector.errors import MessageError, NotFound
from connector.protocol.roles import Role
from connector.protocol.transfer import TransferEvent
from connector.store.hold_queries import hold_of, holds_of, waiting
from connector.store.store import ProcessRow
from connector.store.tables import NegotiationRow, TransferRow

if TYPE_CHECKING:
    from connector.app import Connector

router = APIRouter(
    prefix="/management", tags=["management"], dependencies=[OperatorDep], responses=ERRORS_401
)


# -- models ------------------------------------------------------------------------------------


class NegotiationIn(BaseModel):
    provider: Name = Field(description="The provider's DID.")
    dataset_id: Name
    offer_id: Name | None = Field(
        None, description="Which of the dataset's offers; the first when absent."
    )
    provider_address: Address | None = Field(
        None, description="The provider's DSP base URL; found from its DID when absent."
    )
    offer: dict[str, Any] | None = Field(
        None,
        description="The offer exactly as the provider's catalogue gave it (ODRL with its @id):"
        " the catalogue is then not read again. The provider still checks it is one of its own.",
    )
    accept: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Acceptance rules for this negotiation, beside the participant's"
        " [[consumer.accept]]: a provider offer with other terms is accepted when one allows it"
        " (peers, member_of, datasets, purposes, no_payment, duties; docs/holds.md).",
    )
    verify: Literal["auto", "hold"] | None = Field(
        None, description="Verify the agreement at once, or wait for the operator."
    )


class OfferToIn(BaseModel):
    consumer: Name = Field(description="The consumer's DID.")
    consumer_address: Address | None = Field(
        None,
        description="The consumer's DSP base URL (where it takes initial offers); found from"
        " its DID document when absent.",
    )
    dataset_id: Name
    offer_id: Name


class CounterOfferIn(BaseModel):
    policy: dict[str, Any] = Field(
        description="The terms to answer with (ODRL Offer): a provider's counter-offer, or a"
        " consumer's counter-request; a fresh urn:uuid @id when it has none."
    )


class TerminateIn(BaseModel):
    code: Identifier = "terminated_by_operator"
    reason: str = "terminated by the operator"


class TransferIn(BaseModel):
    agreement_id: Identifier
    format: Literal["HttpData-PULL", "HttpData-PUSH"] = "HttpData-PULL"
    data_address: dict[str, Any] | None = Field(
        None, description="For push: where the provider sends the data."
    )


class TransferActionIn(BaseModel):
    code: Identifier | None = None
    reason: str | None = None


def _negotiation(row: NegotiationRow, events: Any = None, hold: Any = None) -> dict[str, Any]:
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
        "waiting": waiting_json(hold),
        "pending": row.pending,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }
    if events is not None:
        out["events"] = [_event(e) for e in events]
    return out


def _transfer(row: TransferRow, events: Any = None, hold: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row.id,
        "role": row.role,
        "state": dsp_state(row, "REQUESTED"),
        "peer_pid": row.peer_pid,
        "counterparty": row.counterparty_did,
        "agreement_id": row.agreement_id,
        "format": row.format,
        "data_address": row.data_address,
        "waiting": waiting_json(hold),
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


# -- negotiations and agreements ------------------------------------------------------------------


@router.post(
    "/negotiations",
    status_code=201,
    response_model=NegotiationOut,
    responses={**ERRORS_400, **ERRORS_404, **ERRORS_502},
)
async def start_negotiation(body: NegotiationIn, connector: ConnectorDep) -> dict[str, Any]:
    """Consumer: negotiate for a peer's dataset under one of its offers."""
    base = body.provider_address or await provider_base(
        connector.resolver, connector.outbound, body.provider
    )
    await connector.outbound.vet(base, what="the provider's address")  # 400 now, not later
    accept = accept_rules_of(body.accept, where="accept")
    if body.offer is not None:
        offers = [policy_of(body.offer)]
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
        accept=accept,
        verify=body.verify,
    )
    return _negotiation(row)


@router.post(
    "/negotiations/offers",
    status_code=201,
    response_model=NegotiationOut,
    responses={**ERRORS_400, **ERRORS_404, **ERRORS_502},
)
async def offer_to_consumer(body: OfferToIn, connector: ConnectorDep) -> dict[str, Any]:
    """Provider: offer one of our dataset offers to a consumer (provider-initiated negotiation)."""
    base = body.consumer_address or await dsp_base_of(
        connector.resolver, connector.outbound, body.consumer
    )
    await connector.outbound.vet(base, what="the consumer's address")
    row = await connector.store.call(
        connector.negotiations.offer_to,
        consumer_did=body.consumer,
        consumer_address=base,
        dataset_id=body.dataset_id,
        offer_id=body.offer_id,
    )
    return _negotiation(row)


@dataclass(frozen=True)
class Page:
    role: Role | None
    state: str | None
    limit: int
    offset: int
    waiting: bool = False


async def _page(
    role: Role | None = None,
    state: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = OffsetQuery,
    waiting: bool = Query(
        False, description="Only the steps that wait for the operator, longest waiting first."
    ),
) -> Page:
    return Page(role, state, limit, offset, waiting)


PageDep = Annotated[Page, Depends(_page)]


@router.get("/negotiations", response_model=list[NegotiationOut], responses=ERRORS_400)
async def list_negotiations(connector: ConnectorDep, page: PageDep) -> list[dict[str, Any]]:
    """Negotiations, newest first (filter by `role` and `state`; page with limit/offset)."""
    return await _list(connector, NegotiationRow, _negotiation, page)


WaitQuery = Query(
    None,
    description="Long-poll: answer once the process is in one of these states with nothing left "
    "to send (TERMINATED always counts), or when `timeout` runs out.",
)
TimeoutQuery = Query(30.0, ge=0, le=300, description="Seconds to wait at most, with `wait`.")
OrWaitingQuery = Query(
    False, description="With `wait`: answer as well once a step waits for the operator."
)


async def _list(
    connector: Connector, kind: type[ProcessRow], render: Callable[..., dict[str, Any]], page: Page
) -> list[dict[str, Any]]:
    def read() -> list[dict[str, Any]]:
        with connector.store.transaction() as tx:
            if page.waiting:
                held = waiting(tx, kind.__tablename__, limit=page.limit, offset=page.offset)
                rows = [tx.process(kind, h.process_id, lock=False) for h in held]
                rows = [
                    r for r in rows if page.role in (None, r.role) and page.state in (None, r.state)
                ]
                holds = {h.process_id: h for h in held}
            else:
                rows = list(
                    tx.processes(
                        kind, role=page.role, state=page.state, limit=page.limit, offset=page.offset
                    )
                )
                holds = holds_of(tx, [r.id for r in rows])
            return [render(r, None, holds.get(r.id)) for r in rows]

    return await connector.store.call(read)


async def _one(
    connector: Connector,
    kind: type[ProcessRow],
    render: Callable[..., dict[str, Any]],
    pid: str,
    wait: list[str] | None,
    timeout: float,
    or_waiting: bool = False,
) -> dict[str, Any]:
    """One process with its history; with `wait`, held until it settles in a wanted state
    (or, with `or_waiting`, until a step of ours waits for the operator)."""
    wanted = set(wait) | {"TERMINATED"} if wait else set()

    def settled(record: dict[str, Any]) -> bool:
        if or_waiting and record["waiting"] is not None:
            return True  # a step waits for the operator: nothing moves until they act
        return record["state"] in wanted and not record["pending"]

    def read(final: bool) -> dict[str, Any]:
        with connector.store.transaction() as tx:
            row = tx.process(kind, pid, lock=False)  # a read: no row lock
            hold = hold_of(tx, pid)
            record = render(row, None, hold)
            if final or settled(record):  # the history only for the answer
                record = render(row, tx.events(pid), hold)
            return record

    if not wait:
        return await connector.store.call(read, True)
    deadline = anyio.current_time() + timeout
    while True:
        # before reading, so no change can slip in between; a hold changes no state, so
        # waiting for one wakes on any change
        change = connector.changes.watch(pid, None if or_waiting else wanted)
        left = deadline - anyio.current_time()
        record = await connector.store.call(read, left <= 0)
        if settled(record) or left <= 0:
            connector.changes.forget(pid, change)
            return record
        # Another process sharing the database may make the change, and only this process's
        # changes are signalled: look again every second there.
        await connector.changes.wait(
            pid, change, min(left, 1.0) if connector.store.shared else left
        )


@router.get(
    "/negotiations/{pid}", response_model=NegotiationOut, responses={**ERRORS_400, **ERRORS_404}
)
async def get_negotiation(
    pid: str,
    connector: ConnectorDep,
    wait: list[str] | None = WaitQuery,
    timeout: float = TimeoutQuery,
    or_waiting: bool = OrWaitingQuery,
) -> dict[str, Any]:
    """One negotiation with its history (optionally waiting until it settles)."""
    return await _one(connector, NegotiationRow, _negotiation, pid, wait, timeout, or_waiting)


@router.post(
    "/negotiations/{pid}/approve",
    response_model=NegotiationOut,
    responses={**ERRORS_400, **ERRORS_404, **ERRORS_409},
)
async def approve(pid: str, connector: ConnectorDep) -> dict[str, Any]:
    """Either side: take the step that waits (provider: agree or finalize; consumer: accept
    the provider's offer or verify the agreement; either: send again after a peer's 404)."""
    # as committed: every action ends the hold it answers
    return _negotiation(await connector.store.call(connector.negotiations.approve, pid))


@router.post(
    "/negotiations/{pid}/counter-offer",
    response_model=NegotiationOut,
    responses={**ERRORS_400, **ERRORS_404, **ERRORS_409},
)
async def counter_offer(pid: str, body: CounterOfferIn, connector: ConnectorDep) -> dict[str, Any]:
    """Either side: answer a waiting step with other terms (provider: a counter-offer to a
    request; consumer: a counter-request to the provider's offer). Terms without an @id get a
    fresh urn:uuid: the peer needs one to name them, the operator need not invent it."""
    terms = body.policy if "@id" in body.policy else {"@id": uuid.uuid4().urn, **body.policy}
    return _negotiation(
        await connector.store.call(connector.negotiations.counter_offer, pid, policy_of(terms))
    )


@router.post(
    "/negotiations/{pid}/terminate",
    response_model=NegotiationOut,
    responses={**ERRORS_400, **ERRORS_404},
)
async def terminate_negotiation(
    pid: str, body: TerminateIn, connector: ConnectorDep
) -> dict[str, Any]:
    """Either side: end a negotiation."""
    return _negotiation(
        await connector.store.call(
            connector.negotiations.terminate, pid, code=body.code, reason=body.reason
        )
    )


@router.get("/agreements", response_model=list[AgreementOut], responses=ERRORS_400)
async def list_agreements(
    connector: ConnectorDep, limit: int = Query(100, ge=1, le=1000), offset: int = OffsetQuery
) -> list[dict[str, Any]]:
    """Agreements this connector signed or received, newest first."""

    def read() -> list[dict[str, Any]]:
        with connector.store.transaction() as tx:
            return [a.model_dump() for a in tx.agreements(limit=limit, offset=offset)]

    return await connector.store.call(read)


@router.get("/agreements/{agreement_id:path}", response_model=AgreementOut, responses=ERRORS_404)
async def get_agreement(agreement_id: str, connector: ConnectorDep) -> dict[str, Any]:
    """One agreement: its parties, dataset and policy."""

    def read() -> dict[str, Any]:
        with connector.store.transaction() as tx:
            return tx.agreement(agreement_id).model_dump()

    return await connector.store.call(read)


# -- transfers -------------------------------------------------------------------------------------


@router.post(
    "/transfers",
    status_code=201,
    response_model=TransferOut,
    responses={**ERRORS_400, **ERRORS_404},
)
async def start_transfer(body: TransferIn, connector: ConnectorDep) -> dict[str, Any]:
    """Consumer: ask the provider of an agreement to start a transfer."""
    row = await connector.store.call(
        connector.transfers.request,
        agreement_id=body.agreement_id,
        format=body.format,
        data_address=body.data_address,
    )
    return _transfer(row)


@router.get("/transfers", response_model=list[TransferOut], responses=ERRORS_400)
async def list_transfers(connector: ConnectorDep, page: PageDep) -> list[dict[str, Any]]:
    """Transfers, newest first (filter by `role` and `state`; page with limit/offset)."""
    return await _list(connector, TransferRow, _transfer, page)


@router.get("/transfers/{pid}", response_model=TransferOut, responses={**ERRORS_400, **ERRORS_404})
async def get_transfer(
    pid: str,
    connector: ConnectorDep,
    wait: list[str] | None = WaitQuery,
    timeout: float = TimeoutQuery,
    or_waiting: bool = OrWaitingQuery,
) -> dict[str, Any]:
    """One transfer with its history (optionally waiting until it settles)."""
    return await _one(connector, TransferRow, _transfer, pid, wait, timeout, or_waiting)


@router.post(
    "/transfers/{pid}/approve",
    response_model=TransferOut,
    responses={**ERRORS_400, **ERRORS_404, **ERRORS_409},
)
async def approve_transfer(pid: str, connector: ConnectorDep) -> dict[str, Any]:
    """Provider: start a transfer that waits for the operator (or for its time window) now;
    either side: send again a message the peer answered with 404."""
    return _transfer(await connector.store.call(connector.transfers.approve, pid))


_ACTIONS = {
    "suspend": TransferEvent.SUSPENSION,
    "resume": TransferEvent.START,
    "complete": TransferEvent.COMPLETION,
    "terminate": TransferEvent.TERMINATION,
}


@router.post(
    "/transfers/{pid}/{action}",
    response_model=TransferOut,
    responses={**ERRORS_400, **ERRORS_404},
)
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
