"""The one place where errors become HTTP responses.

Peers get the terse DSP error objects (detail goes to the log, not to them); a rejected token
is 401 on the catalogue and 404 on negotiation and transfer resources, as DSP asks. Operators
get `{"error": {"code", "message"}}` with a message that says what to fix.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from connector.errors import ConnectorError, DuplicateMessage, NotFound, Unauthenticated

log = logging.getLogger("tsunagu.api")

DSP_CONTEXT = ["https://w3id.org/dspace/2025/1/context.jsonld"]


class BodyTooLarge(ConnectorError):
    code = "body_too_large"
    status = 413


def _protocol_of(path: str) -> str | None:
    if "/dsp/" not in path:
        return None
    if "/negotiations" in path:
        return "negotiation"
    if "/transfers" in path:
        return "transfer"
    if "/catalog" in path:
        return "catalog"
    return "other"


def _pids(request: Request) -> tuple[str, str]:
    """Best effort: the pids a peer's request named (for the error object's required fields)."""
    body = getattr(request.state, "dsp_body", None)
    consumer = provider = ""
    if isinstance(body, dict):
        consumer = str(body["consumerPid"]) if isinstance(body.get("consumerPid"), str) else ""
        provider = str(body["providerPid"]) if isinstance(body.get("providerPid"), str) else ""
    if not (consumer or provider):
        provider = request.path_params.get("pid", "")
    return consumer, provider


def dsp_error(request: Request, status: int, code: str, reason: str) -> JSONResponse:
    protocol = _protocol_of(request.url.path)
    body: dict[str, Any] = {"@context": DSP_CONTEXT, "code": code, "reason": [reason]}
    if protocol == "catalog" or protocol == "other":
        body["@type"] = "CatalogError"
    else:
        consumer, provider = _pids(request)
        body["@type"] = "ContractNegotiationError" if protocol == "negotiation" else "TransferError"
        body["consumerPid"] = consumer
        body["providerPid"] = provider
    return JSONResponse(body, status_code=status)


def operator_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _respond(request: Request, exc: ConnectorError) -> JSONResponse:
    protocol = _protocol_of(request.url.path)
    if protocol is None:
        response = operator_error(exc.status, exc.code, exc.message)
        # Data plane (/data/...): a 401 says why in WWW-Authenticate (RFC 6750), a 416 names
        # the size in Content-Range; the errors carry those headers themselves.
        if request.url.path.startswith("/data/"):
            extra = getattr(exc, "headers", None)
            if not extra and isinstance(exc, Unauthenticated):
                extra = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
            response.headers.update(extra or {})
        return response
    if isinstance(exc, Unauthenticated):
        log.info("rejected peer request to %s: %s (%s)", request.url.path, exc.code, exc.message)
        if protocol in ("negotiation", "transfer"):
            return dsp_error(request, 404, "not_found", "no such process")
        return dsp_error(request, 401, "unauthorized", "the request's token was not accepted")
    if isinstance(exc, NotFound):
        return dsp_error(
            request, 404, "not_found", "no such process" if protocol != "catalog" else exc.message
        )
    if exc.status >= 500:
        log.warning("peer request to %s failed: %s", request.url.path, exc)
        return dsp_error(request, exc.status, exc.code, "temporarily unavailable")
    return dsp_error(request, exc.status, exc.code, exc.message)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ConnectorError)
    async def _connector_error(request: Request, exc: ConnectorError) -> Response:
        if isinstance(exc, DuplicateMessage):
            return Response(status_code=200)  # acknowledged again, as the first time
        return _respond(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = f"{where}: {first.get('msg', 'invalid request')}"
        if _protocol_of(request.url.path) is None:
            return operator_error(400, "invalid_request", message)
        return dsp_error(request, 400, "invalid_message", message)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}.get(
            exc.status_code, "http_error"
        )
        if _protocol_of(request.url.path) is None:
            return operator_error(exc.status_code, code, str(exc.detail))
        return dsp_error(request, exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, _exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        if _protocol_of(request.url.path) is None:
            return operator_error(
                500, "internal_error", "unexpected error; see the connector's log"
            )
        return dsp_error(request, 500, "internal_error", "unexpected error")
