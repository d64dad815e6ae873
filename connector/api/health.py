"""Operations endpoints: `/healthz` (the process answers), `/readyz` (it can do its job:
database reachable, signing key loaded, membership credential present, valid and not revoked)
and `/metrics` (Prometheus, behind the management token), and the middleware that counts
requests and data-plane bytes. docs/operations.md says how to use them."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal

import anyio
from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connector.api.deps import ConnectorDep, OperatorDep
from connector.errors import ConnectorError
from connector.identity.keys import verify_ed25519
from connector.logs import HEADER, accept, correlation_id
from connector.metrics import CONTENT_TYPE, Metrics
from connector.store import health_queries

if TYPE_CHECKING:
    from connector.app import Connector

router = APIRouter(tags=["operations"])
CHECK_SECONDS = 5.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive and serving (nothing else is checked)."""
    return {"status": "alive"}


class Check(BaseModel):
    ok: bool
    code: str | None = Field(None, description="Why it failed, when it did.")
    message: str | None = None
    model_config = {"extra": "allow"}  # what each probe found (key id, credential expiry)


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    failed: list[str] = Field(description="The names of the checks that failed.")
    checks: dict[str, Check]


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready; `failed` names what."}},
)
async def readyz(connector: ConnectorDep) -> JSONResponse:
    """200 when every check passes, else 503 naming the failed checks."""
    checks = {
        "database": await _check(_database, connector),
        "key": await _check(_key, connector),
        "credential": await _check(_credential, connector),
    }
    failed = [name for name, result in checks.items() if not result["ok"]]
    body = {"status": "not_ready" if failed else "ready", "failed": failed, "checks": checks}
    return JSONResponse(body, status_code=503 if failed else 200)


async def _check(probe: Any, connector: Connector) -> dict[str, Any]:
    try:
        with anyio.fail_after(CHECK_SECONDS):
            return {"ok": True, **await probe(connector)}
    except TimeoutError:
        return {"ok": False, "code": "timeout", "message": f"no answer in {CHECK_SECONDS:g} s"}
    except ConnectorError as exc:
        return {"ok": False, "code": exc.code, "message": exc.message}
    except Exception as exc:  # a probe reports, it does not fail the probe endpoint
        return {"ok": False, "code": "error", "message": f"{type(exc).__name__}: {exc}"}


async def _database(connector: Connector) -> dict[str, Any]:
    await connector.store.call(health_queries.ping, connector.store)
    return {}


async def _key(connector: Connector) -> dict[str, Any]:
    key = connector.keys.active
    probe = b"tsunagu readiness"
    if not verify_ed25519(key.public_key(), probe, key.sign(probe)):
        raise ConnectorError("the active key does not verify its own signature", code="key_broken")
    return {"kid": key.kid}


async def _credential(connector: Connector) -> dict[str, Any]:
    if connector.credentials is None:
        raise ConnectorError("no credential verifier", code="credential_unchecked")
    claims = await connector.credentials.verify(
        connector.settings.credential(), expected_subject=connector.did
    )
    return {"issuer": claims.issuer, "valid_until": claims.valid_until.isoformat()}


@router.get("/metrics", dependencies=[OperatorDep], response_class=Response)
async def metrics(connector: ConnectorDep) -> Response:
    """Prometheus text format; scrape with the management token as bearer token."""
    body = await connector.store.call(connector.metrics.render)  # it reads the database
    return Response(body, media_type=CONTENT_TYPE)


_DATA_OUT = ("/data/",)


access_log = logging.getLogger("tsunagu.http")


class ObserveMiddleware:
    """Counts every request by route template and status, and the bytes of data-plane bodies:
    served (`out`, responses under /data/ and the operator's reads of a transfer's data) and
    received (`in`, bodies pushed into our sinks under /data/). Sets the request's correlation
    id (connector.logs), echoes it on the response and logs one access line with it."""

    def __init__(self, app: ASGIApp, metrics: Metrics, participant: str = "") -> None:
        self.app = app
        self.metrics = metrics
        self.participant = participant

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        data = path.startswith(_DATA_OUT) or (
            path.startswith("/management/transfers/") and path.endswith("/data")
        )
        status = [500]
        metrics = self.metrics
        incoming = next((v for k, v in scope.get("headers", []) if k == b"x-correlation-id"), b"")
        cid = accept(incoming.decode("latin-1"))
        token = correlation_id.set(cid)

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (HEADER.lower().encode(), cid.encode()),
                ]
            elif message["type"] == "http.response.body" and data:
                metrics.data_bytes.labels(direction="out").inc(len(message.get("body", b"")))
            await send(message)

        async def counting_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request" and path.startswith(_DATA_OUT):
                metrics.data_bytes.labels(direction="in").inc(len(message.get("body", b"")))
            return message

        try:
            await self.app(scope, counting_receive, counting_send)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope.get("method", "")
            metrics.requests.labels(route=route, method=method, status=str(status[0])).inc()
            access_log.info(
                "%s %s %d",
                method,
                route,
                status[0],
                extra={
                    "participant": self.participant,
                    "route": route,
                    "status": status[0],
                    "correlation_id": cid,
                },
            )
            correlation_id.reset(token)
