"""DSP contract-negotiation and transfer-process endpoints, provider side and consumer callbacks.

Each endpoint is one line of intent: authenticate the peer, parse the message, hand it to the
service (which validates, transitions and persists in one transaction), return the ACK.
Our `callbackAddress` is the DSP base itself: a provider that starts a negotiation with an
offer never learns any other address of ours. Paths both roles share (`/events`,
`/termination`, the transfer messages, GETs) are dispatched by the role of *our* stored
process, which the pid in the path names; the services then check the message fits that role.

An address a peer gives (a `callbackAddress`, a push sink, a pull endpoint) is vetted by the
outbound policy before the message reaches its service: a refused one is answered with a DSP
error `outbound_address_refused` and nothing is stored.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from connector.api.deps import ConnectorDep, PeerDep, message
from connector.api.schema import dsp_answer, dsp_body, no_body
from connector.errors import MessageError, NotFound
from connector.protocol.messages import (
    ContractAgreementMessage,
    ContractAgreementVerificationMessage,
    ContractNegotiationEventMessage,
    ContractNegotiationTerminationMessage,
    ContractOfferMessage,
    ContractRequestMessage,
    TransferCompletionMessage,
    TransferRequestMessage,
    TransferStartMessage,
    TransferSuspensionMessage,
    TransferTerminationMessage,
)
from connector.protocol.roles import Role
from connector.settings import DSP_PATH

T = TypeVar("T")
router = APIRouter(prefix=DSP_PATH, tags=["dsp: negotiation and transfer"])
PROVIDER = Role.PROVIDER
_ACCEPTED = no_body("The message is accepted and stored (no body); a DSP error otherwise.")
CONSUMER = Role.CONSUMER


def _ok() -> Response:
    return Response(status_code=200)


# -- contract negotiation: provider --------------------------------------------------------


@router.get("/negotiations/{pid}", **dsp_answer("ContractNegotiation"))
async def get_negotiation(pid: str, connector: ConnectorDep, peer: PeerDep) -> dict[str, Any]:
    row = await connector.store.call(connector.negotiations.get, pid, peer=peer)
    return connector.negotiations.ack(row).to_json()


@router.post(
    "/negotiations/request",
    status_code=201,
    **dsp_answer("ContractNegotiation", status=201),
    **dsp_body(ContractRequestMessage),
)
async def negotiation_request(
    request: Request, connector: ConnectorDep, peer: PeerDep
) -> JSONResponse:
    msg = await message(request, ContractRequestMessage)
    _no_pid_yet(msg.provider_pid, "an initial request", "providerPid")
    await _vet(connector, msg.callback_address, "the callbackAddress")
    return await _opened(connector, connector.negotiations.on_request, peer, msg)


@router.post("/negotiations/{pid}/request", **_ACCEPTED, **dsp_body(ContractRequestMessage))
async def negotiation_counter_request(
    pid: str, request: Request, connector: ConnectorDep, peer: PeerDep
) -> Response:
    msg = await message(request, ContractRequestMessage)
    _same_pid(pid, msg.provider_pid)
    await connector.store.call(connector.negotiations.on_request, peer, msg)
    return _ok()


@router.post("/negotiations/{pid}/events", **_ACCEPTED, **dsp_body(ContractNegotiationEventMessage))
async def negotiation_event(
    pid: str, request: Request, connector: ConnectorDep, peer: PeerDep
) -> Response:
    role = await connector.store.call(connector.negotiations.role_of, pid)
    msg = await message(request, ContractNegotiationEventMessage)
    _same_pid(pid, msg.provider_pid if role is PROVIDER else msg.consumer_pid)
    await connector.store.call(connector.negotiations.on_event, peer, msg, role=role)
    return _ok()


@router.post(
    "/negotiations/{pid}/agreement/verification",
    **_ACCEPTED,
    **dsp_body(ContractAgreementVerificationMessage),
)
async def negotiation_verification(
    pid: str, request: Request, connector: ConnectorDep, peer: PeerDep
) -> Response:
    msg = await message(request, ContractAgreementVerificationMessage)
    _same_pid(pid, msg.provider_pid)
    await connector.store.call(connector.negotiations.on_verification, peer, msg)
    return _ok()


@router.post(
    "/negotiations/{pid}/termination",
    **_ACCEPTED,
    **dsp_body(ContractNegotiationTerminationMessage),
)
async def negotiation_termination(
    pid: str, request: Request, connector: ConnectorDep, peer: PeerDep
) -> Response:
    role = await connector.store.call(connector.negotiations.role_of, pid)
    msg = await message(request, ContractNegotiationTerminationMessage)
    _same_pid(pid, msg.provider_pid if role is PROVIDER else msg.consumer_pid)
    await connector.store.call(connector.negotiations.on_termination, peer, msg, role=role)
    return _ok()


# -- contract negotiation: consumer (initial offers, counter-offers, agreements) ---------


@router.post(
    "/negotiations/offers",
    status_code=201,
    **dsp_answer("ContractNegotiation", status=201),
    **dsp_body(ContractOfferMessage),
)
async def negotiation_initial_offer(
    request: Request, connector: ConnectorDep, peer: PeerDep
) -> JSONResponse:
    msg = await message(request, ContractOfferMessage)
    _no_pid_yet(msg.consumer_pid, "an initial offer", "consumerPid")
    await _vet(connector, msg.callback_address, "the callbackAddress")
    return await _opened(connector, connector.negotiations.on_offer, peer, msg)


@router.post("/negotiations/{pid}/offers", **_ACCEPTED, **dsp_body(ContractOfferMessage))
async def negotiation_counter_offer(
    pid: str, request: Request, connector: ConnectorDep, peer: PeerDep
) -> Response:
    msg = await message(request, ContractOfferMessage)
    _same_pid(pid, msg.consumer_pid)
    await connector.store.call(connector.negotiations.on_offer, peer, msg)
    return _ok()


@router.post("/negotiations/{pid}/agreement", **_ACCEPTED, **dsp_body(ContractAgreementMessage))
async def negotiation_agreement(
    pid: str, request: Request, connector: ConnectorDep, peer: PeerDep
) -> Response:
    msg = await message(request, ContractAgreementMessage)
    _same_pid(pid, msg.consumer_pid)
    await connector.store.call(connector.negotiations.on_agreement, peer, msg)
    return _ok()


_TRANSFER_MESSAGES: dict[str, type[Any]] = {
    "start": TransferStartMessage,
    "completion": TransferCompletionMessage,
    "suspension": TransferSuspensionMessage,
    "termination": TransferTerminationMessage,
}


# -- transfer process (either role) ---------------------------------------------------------------


@router.get("/transfers/{pid}", **dsp_answer("TransferProcess"))
async def get_transfer(pid: str, connector: ConnectorDep, peer: PeerDep) -> dict[str, Any]:
    row = await connector.store.call(connector.transfers.get, pid, peer=peer)
    return connector.transfers.ack(row).to_json()


@router.post(
    "/transfers/request",
    status_code=201,
    **dsp_answer("TransferProcess", status=201),
    **dsp_body(TransferRequestMessage),
)
async def transfer_request(
    request: Request, connector: ConnectorDep, peer: PeerDep
) -> JSONResponse:
    msg = await message(request, TransferRequestMessage)
    await _vet(connector, msg.callback_address, "the callbackAddress")
    await _vet(connector, _endpoint(msg), "the push sink")
    row, _created = await connector.store.call(connector.transfers.on_request, peer, msg)
    return JSONResponse(connector.transfers.ack(row).to_json(), status_code=201)


@router.post("/transfers/{pid}/{kind}", **_ACCEPTED, **dsp_body(*_TRANSFER_MESSAGES.values()))
async def transfer_message(
    pid: str, kind: str, request: Request, connector: ConnectorDep, peer: PeerDep
) -> Response:
    role = await connector.store.call(connector.transfers.role_of, pid)
    return await _transfer(pid, kind, request, connector, peer, role=role)


async def _transfer(
    pid: str, kind: str, request: Request, connector: Any, peer: Any, *, role: Role
) -> Response:
    model = _TRANSFER_MESSAGES.get(kind)
    if model is None:
        raise NotFound(f"no transfer endpoint {kind!r}")
    msg = await message(request, model)
    _same_pid(pid, msg.provider_pid if role is PROVIDER else msg.consumer_pid)
    await _vet(connector, _endpoint(msg), "the data endpoint")
    await connector.store.call(connector.transfers.on_message, peer, msg, role=role)
    return _ok()


async def _vet(connector: Any, address: str | None, what: str) -> None:
    if address is not None:
        await connector.outbound.vet(address, what=what)


def _endpoint(msg: Any) -> str | None:
    address = getattr(msg, "data_address", None)
    return None if address is None else address.endpoint


def _no_pid_yet(pid: str | None, what: str, name: str) -> None:
    """The first message of a negotiation cannot name the receiver's process yet."""
    if pid is not None:
        code = "unexpected_" + name.removesuffix("Pid") + "_pid"
        raise MessageError(f"{what} carries no {name}", code=code)


async def _opened(connector: Any, handle: Any, peer: Any, msg: Any) -> JSONResponse:
    """Open a negotiation (or find the one a repeated first message opened) and ACK it."""
    row, _created = await connector.store.call(handle, peer, msg)
    return JSONResponse(connector.negotiations.ack(row).to_json(), status_code=201)


def _same_pid(path_pid: str, body_pid: str | None) -> None:
    if body_pid != path_pid:
        raise MessageError("the pid in the path and in the body differ", code="pid_mismatch")
