"""The one place where errors become HTTP responses.

Peers get the terse DSP error objects (detail goes to the log, not to them); a rejected token
is 401 on the catalogue and 404 on negotiation and transfer resources, as DSP asks. Operators
get `{"error": {"code", "message"}}` with a message that says what to fix.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from catalog.errors import CatalogError, InvalidEntry
from connector.api.door import declare_parameter_limits
from connector.errors import ConnectorError, DuplicateMessage, NotFound, Unauthenticated
from connector.protocol.identifiers import MAX_IDENTIFIER, has_control

log = logging.getLogger("tsunagu.api")

DSP_CONTEXT = ["https://w3id.org/dspace/2025/1/context.jsonld"]


class BodyTooLarge(ConnectorError):
    code = "body_too_large"
    status = 413


class ErrorJSON(JSONResponse):
    """An error response that renders whatever it is given: ASCII-escaped, so a lone surrogate
    echoed from a request (or a message naming one) is text, not an encoding failure."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":"), default=str).encode()


# The last resort, when even building an error object failed.
_FALLBACK = b'{"error":{"code":"internal_error","message":"unexpected error"}}'


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
        consumer = _echo(body.get("consumerPid"))
        provider = _echo(body.get("providerPid"))
    if not (consumer or provider):
        provider = _echo(request.path_params.get("pid"))
    return consumer, provider


def _echo(value: object) -> str:
    """A pid fit to echo back: one the door would have accepted, else nothing."""
    if isinstance(value, str) and len(value) <= MAX_IDENTIFIER and not has_control(value):
        return value
    return ""


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
    return ErrorJSON(body, status_code=status)


def operator_error(status: int, code: str, message: str) -> JSONResponse:
    return ErrorJSON({"error": {"code": code, "message": message}}, status_code=status)


_TOKEN_REFUSED = "the request's token was not accepted"
# What a refused peer is told, per code: enough to fix its own side, nothing of ours.
_PUBLIC_REASONS = {
    "credential_subject_mismatch": "the membership credential was issued to another DID than "
    "the token's issuer: present your own credential",
    "credential_untrusted_issuer": "the membership credential's issuer is not trusted here",
    "credential_expired": "the membership credential has expired: ask your authority anew",
    "credential_revoked": "the membership credential has been revoked",
    "credential_missing": "the token carries no membership credential",
    "token_expired": "the token has expired",
    "token_wrong_audience": "the token is meant for another participant",
}


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
        # At the default level: an operator must be able to see why a peer was turned away.
        log.warning("refused peer request to %s: %s (%s)", request.url.path, exc.code, exc.message)
        if protocol in ("negotiation", "transfer"):
            return dsp_error(request, 404, "not_found", "no such process")
        # The code is the peer's to act on (its own token or credential); the message, which
        # may name our trust settings, stays in our log.
        return dsp_error(request, 401, exc.code, _PUBLIC_REASONS.get(exc.code, _TOKEN_REFUSED))
    if isinstance(exc, NotFound):
        return dsp_error(
            request, 404, "not_found", "no such process" if protocol != "catalog" else exc.message
        )
    if exc.status >= 500:
        log.warning("peer request to %s failed: %s", request.url.path, exc)
        return dsp_error(request, exc.status, exc.code, "temporarily unavailable")
    return dsp_error(request, exc.status, exc.code, exc.message)


def _allowed(app: FastAPI, request: Request) -> str:
    """Every method some route takes at this path: Starlette names only the first route whose
    path matches (GET /negotiations/{pid} hides POST /negotiations/request)."""
    methods: set[str] = set()
    routes: list[Any] = list(app.routes)
    while routes:
        route = routes.pop()
        # FastAPI keeps an included router whole (0.16x); its routes carry their full paths,
        # since create_app includes every router without a prefix of its own.
        inner = getattr(route, "original_router", None)
        if inner is not None:
            routes.extend(inner.routes)
            continue
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


def _counted(request: Request, response: JSONResponse, code: str) -> JSONResponse:
    """Refusals (4xx) by reason, for the metrics."""
    if 400 <= response.status_code < 500:
        connector = getattr(request.app.state, "connector", None)
        if connector is not None:
            connector.metrics.refused(code)
    return response


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ConnectorError)
    async def _connector_error(request: Request, exc: ConnectorError) -> Response:
        if isinstance(exc, DuplicateMessage):
            return Response(status_code=200)  # acknowledged again, as the first time
        return _counted(request, _respond(request, exc), exc.code)

    @app.exception_handler(CatalogError)
    async def _catalog_error(request: Request, exc: CatalogError) -> JSONResponse:
        # a description refused on publishing, or a peer's filter we do not understand
        if _protocol_of(request.url.path) is not None:
            return dsp_error(request, 400, exc.code, exc.message)
        response = operator_error(
            422 if isinstance(exc, InvalidEntry) else 400, exc.code, exc.message
        )
        if isinstance(exc, InvalidEntry):
            problems = [issue.text() for issue in exc.report.violations]
            response = JSONResponse(
                {"error": {"code": exc.code, "message": exc.message, "problems": problems}},
                status_code=422,
            )
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = f"{where}: {first.get('msg', 'invalid request')}"
        if _protocol_of(request.url.path) is None:
            return _counted(
                request, operator_error(400, "invalid_request", message), "invalid_request"
            )
        return _counted(
            request, dsp_error(request, 400, "invalid_message", message), "invalid_message"
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}.get(
            exc.status_code, "http_error"
        )
        if _protocol_of(request.url.path) is None:
            response = operator_error(exc.status_code, code, str(exc.detail))
        else:
            response = dsp_error(request, exc.status_code, code, str(exc.detail))
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:
            response.headers["Allow"] = _allowed(app, request)
        return _counted(request, response, code)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, _exc: Exception) -> Response:
        try:
            log.exception("unexpected error on %r", request.url.path)
            if _protocol_of(request.url.path) is None:
                return operator_error(
                    500, "internal_error", "unexpected error; see the connector's log"
                )
            return dsp_error(request, 500, "internal_error", "unexpected error")
        except Exception:  # the handler of last resort must answer, whatever it was given
            return Response(_FALLBACK, status_code=500, media_type="application/json")


# -- what the OpenAPI says about errors ----------------------------------------------------------

OPERATOR_ERRORS: dict[int, str] = {
    400: "The request is malformed or breaks a rule; `error.code` says which.",
    401: "No or a wrong management token.",
    404: "No such resource.",
    405: "The path exists, the method does not; `Allow` lists the methods it takes.",
    409: "The request clashes with the current state.",
    413: "The body is over the configured size limit.",
    502: "The peer could not be reached or answered badly.",
    503: "The database is unavailable; retry later.",
}
PEER_ERRORS: dict[int, str] = {
    400: "The message is malformed or not allowed now (DSP error object).",
    401: "The token was not accepted (catalogue).",
    404: "No such process, or not yours.",
    405: "The path exists, the method does not; `Allow` lists the methods it takes.",
    413: "The body is over the configured size limit.",
    503: "Temporarily unavailable; retry later.",
}

_OPERATOR_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}
_DSP_ERROR_SCHEMA = {
    "type": "object",
    "required": ["@context", "@type", "code", "reason"],
    "properties": {
        "@context": {"type": "array", "items": {"type": "string"}},
        "@type": {"type": "string"},
        "code": {"type": "string"},
        "reason": {"type": "array"},
    },
}


def error_responses(statuses: dict[int, str], schema: str) -> dict[str, Any]:
    """OpenAPI `responses` entries for `statuses`, each with the error body `schema` names."""
    ref = {"$ref": f"#/components/schemas/{schema}"}
    return {
        str(status): {"description": text, "content": {"application/json": {"schema": ref}}}
        for status, text in statuses.items()
    }


def document_errors(app: FastAPI) -> None:
    """Declare in the app's OpenAPI the error statuses every route can answer (operator routes:
    `ErrorOut`, protocol routes: `DspError`) instead of FastAPI's 422, which this API never
    sends (validation errors are 400). Added to whatever else the routes declare."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = generate()
        declare_parameter_limits(spec)
        peer = error_responses(PEER_ERRORS, "DspError")
        operator = error_responses(OPERATOR_ERRORS, "ErrorOut")  # api/schema.py's model
        for path, item in spec.get("paths", {}).items():
            declared = peer if _protocol_of(path) is not None else operator
            for operation in item.values():
                responses = operation.setdefault("responses", {})
                responses.pop("422", None)
                for status, entry in declared.items():
                    responses.setdefault(status, entry)
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        schemas.setdefault("ErrorOut", _OPERATOR_ERROR_SCHEMA)  # when no route names the model
        schemas["DspError"] = _DSP_ERROR_SCHEMA
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
