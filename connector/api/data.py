"""The data plane's HTTP endpoints.

For consumers (token-checked, `/data/...`):
    GET  /data/{transfer id}[/{sub-path}]     the data, streamed (Range, gzip, NDJSON / SSE)
    POST /data/{transfer id}/refresh          a new access token for the same consumer
    PUT  /data/sinks/{sink id}                a provider pushes a transfer's data here
    POST /data/sinks/{sink id}                ... or, for a live source, one batch of readings

For the operator (management token, `/management/...`):
    GET  /management/transfers/{id}/data      consumer: read a transfer's data through us
    POST /management/agreements/{id}/revoke   provider: stop all access under an agreement
"""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from connector.api.body import read_json
from connector.api.deps import ConnectorDep, OperatorDep
from connector.api.process_models import RevokedOut
from connector.api.schema import ERRORS_400, ERRORS_401, ERRORS_404, ERRORS_502, bytes_answer
from connector.dataplane.errors import BadDataRequest
from connector.dataplane.sources import Body, DataRequest
from connector.dataplane.streaming import StreamedBody, compressible, gzipped
from connector.policy.duties import credit_where_due

router = APIRouter(tags=["data plane"])
management = APIRouter(
    prefix="/management", tags=["management"], dependencies=[OperatorDep], responses=ERRORS_401
)


def data_request(request: Request, subpath: str = "", query: Any = None) -> DataRequest:
    headers = request.headers
    return DataRequest(
        subpath=subpath,
        query=tuple(query if query is not None else request.query_params.multi_items()),
        range=headers.get("range"),
        accept=headers.get("accept", "*/*"),
        accept_encoding=headers.get("accept-encoding", ""),
    )


def respond(connector: Any, body: Body, request: DataRequest, transfer_id: str) -> Response:
    headers = dict(body.headers)
    chunks = body.chunks
    if (
        body.status == 200
        and not body.live  # readings go out as they come; an end event must stay readable
        and "gzip" in request.accept_encoding
        and "Content-Encoding" not in headers
        and compressible(headers.get("Content-Type"))
    ):
        chunks = gzipped(chunks)
        headers.pop("Content-Length", None)
        headers["Content-Encoding"] = "gzip"
        headers["Vary"] = "Accept-Encoding"
    return StreamedBody(
        chunks,
        status_code=body.status,
        headers=headers,
        streams=connector.dataplane.streams,
        transfer_id=transfer_id,
        live=body.live,
    )


_DATA = bytes_answer(
    "The data, as its source gives it (a file's type, JSON, NDJSON or SSE when live).",
    "application/octet-stream",
    "application/x-ndjson",
    "text/event-stream",
)


# -- for consumers -----------------------------------------------------------------------------


@router.get("/data/{transfer_id}", **_DATA)
async def pull(transfer_id: str, request: Request, connector: ConnectorDep) -> Response:
    """The transfer's data (needs the transfer's access token as a bearer token)."""
    return await _pull(transfer_id, "", request, connector)


@router.get("/data/{transfer_id}/{subpath:path}", **_DATA)
async def pull_path(
    transfer_id: str, subpath: str, request: Request, connector: ConnectorDep
) -> Response:
    """A file or resource under the dataset, where the dataset allows sub-paths."""
    return await _pull(transfer_id, subpath, request, connector)


async def _pull(transfer_id: str, subpath: str, request: Request, connector: Any) -> Response:
    plane = connector.dataplane
    access = await plane.authorize(transfer_id, request.headers.get("authorization"))
    wanted = data_request(request, subpath)
    body = await plane.open(access, wanted)
    response = respond(connector, body, wanted, transfer_id)
    credit_where_due(connector, access.snapshot, response)  # an `attribute` duty
    return response


class RefreshIn(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=512)


@router.post("/data/{transfer_id}/refresh")
async def refresh(transfer_id: str, request: Request, connector: ConnectorDep) -> dict[str, Any]:
    """Renew the access token: `Authorization: Bearer <the consumer's self-issued ID token>`
    and `{"refresh_token": ...}`. Only the transfer's own consumer can refresh."""
    raw = await read_json(request, limit=16 * 1024)
    if not isinstance(raw, dict) or not isinstance(raw.get("refresh_token"), str):
        raise BadDataRequest('send {"refresh_token": "..."}', code="invalid_request")
    body = RefreshIn.model_validate(raw)
    peer = await connector.verifier.verify(request.headers.get("authorization"))
    result: dict[str, Any] = await anyio.to_thread.run_sync(
        connector.dataplane.refresh, transfer_id, body.refresh_token, peer.did
    )
    return result


@router.put("/data/sinks/{sink_id}")
async def sink(sink_id: str, request: Request, connector: ConnectorDep) -> dict[str, Any]:
    """Consumer: a provider pushes a transfer's data here, with the token we gave it."""
    received = await connector.dataplane.sinks.receive(
        sink_id,
        request.headers.get("authorization"),
        request.headers.get("content-type"),
        request.stream(),
    )
    return {"received": received}


@router.post("/data/sinks/{sink_id}")
async def sink_batch(sink_id: str, request: Request, connector: ConnectorDep) -> dict[str, Any]:
    """Consumer: a provider pushes a batch of live readings (NDJSON) here; they are appended
    to what arrived before."""
    received = await connector.dataplane.sinks.append(
        sink_id, request.headers.get("authorization"), request.stream()
    )
    return {"received": received}


# -- for the operator --------------------------------------------------------------------------


@management.get(
    "/transfers/{pid}/data",
    response_class=Response,
    responses={
        **_DATA["responses"],
        **ERRORS_400,
        **ERRORS_404,
        **ERRORS_502,
    },
)
async def read_transfer_data(
    pid: str, request: Request, connector: ConnectorDep, path: str = ""
) -> Response:
    """Consumer: stream a transfer's data from the provider through this connector. `path` is
    a sub-path; `query` (repeatable, `k=v`) the parameters passed to the provider; Range,
    Accept and Accept-Encoding pass through."""
    query = []
    for item in request.query_params.getlist("query"):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise BadDataRequest(f"query {item!r} is not k=v", code="invalid_request")
        query.append((key, value))
    wanted = data_request(request, path, query)
    body = await connector.consumer.open(pid, wanted)
    if connector.notices is not None:
        connector.notices.used(pid)  # an `inform` duty: told after the use began
    return StreamedBody(
        body.chunks,
        status_code=body.status,
        headers=body.headers,
        streams=connector.dataplane.streams,
        transfer_id=pid,
        live=body.live,
    )


class RevokeIn(BaseModel):
    reason: str = Field("revoked by the provider's operator", max_length=1000)


@management.post(
    "/agreements/{agreement_id:path}/revoke", response_model=RevokedOut, responses=ERRORS_404
)
async def revoke_agreement(
    agreement_id: str, body: RevokeIn, connector: ConnectorDep
) -> dict[str, Any]:
    """Provider: refuse every further data request under this agreement, at once, and
    terminate its transfers that still run (the consumer is told by a termination message)."""

    def revoke() -> list[str]:
        with connector.store.transaction() as tx:
            tx.agreement(agreement_id)  # NotFound for an unknown id
        connector.dataplane.revoke_agreement(agreement_id, body.reason)
        ended = connector.transfers.terminate_for_agreement(agreement_id, body.reason)
        return [t.id for t in ended]

    terminated = await anyio.to_thread.run_sync(revoke)
    return {
        "agreement_id": agreement_id,
        "revoked": True,
        "reason": body.reason,
        "terminated_transfers": terminated,
    }
