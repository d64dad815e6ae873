"""Consent for personal data over HTTP: the operator's management endpoints and the narrow
endpoint a resident-facing portal calls.

Operator (management token):
    POST /management/consents                       give: {subject, purposes, recipients, ...}
    GET  /management/consents[?subject=&status=]    list
    GET  /management/consents/{id}                  show (with its DPV JSON-LD and receipts)
    POST /management/consents/{id}/withdraw         withdraw
    POST /management/consent-portals                a portal and its token (shown once)
    GET  /management/consent-portals                list
    POST /management/consent-portals/{id}/revoke    the portal's token stops working

Resident portal (`Authorization: Bearer <portal token>`; nothing else of the connector):
    GET  /consent-portal/subjects/{subject}/consents              that subject's consents
    POST /consent-portal/subjects/{subject}/consents              give, for that subject
    GET  /consent-portal/subjects/{subject}/consents/{id}         show
    POST /consent-portal/subjects/{subject}/consents/{id}/withdraw

A portal can name only one subject per request and sees nothing of other subjects (another
subject's record id is "not found"); it cannot list subjects, publish, negotiate or read data.
Every change answers with the signed receipt (docs/consent.md).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from connector.api.body import read_json
from connector.api.consent_models import (
    CONSENT_BODY,
    PORTAL_BODY,
    TOO_LARGE,
    ConsentChangeOut,
    ConsentOut,
    ConsentShownOut,
    PortalOut,
    PortalTokenOut,
    ReceiptOut,
)
from connector.api.deps import ConnectorDep, OperatorDep
from connector.api.schema import ERRORS_400, ERRORS_401, ERRORS_404
from connector.consent.service import OPERATOR_METHOD, ConsentService, portal_agent
from connector.errors import MessageError

management = APIRouter(
    prefix="/management", tags=["consent"], dependencies=[OperatorDep], responses=ERRORS_401
)
portal = APIRouter(prefix="/consent-portal", tags=["consent portal"])
LIMIT = 64 * 1024


def _service(connector: Any) -> ConsentService:
    service: ConsentService = connector.consent
    return service


async def _object(request: Request) -> dict[str, Any]:
    data = await read_json(request, limit=LIMIT)
    if not isinstance(data, dict):
        raise MessageError("send a JSON object", code="invalid_request")
    return data


# -- the operator ------------------------------------------------------------------------------


@management.post(
    "/consents",
    status_code=201,
    response_model=ConsentChangeOut,
    responses={**ERRORS_400, **TOO_LARGE},
    openapi_extra=CONSENT_BODY,
)
async def give(request: Request, connector: ConnectorDep) -> dict[str, Any]:
    """Record a consent the data subject gave (returns the record and its signed receipt).
    `indicated_by` (optional) names who expressed it; default: this connector's operator."""
    data = await _object(request)
    by = data.pop("indicated_by", None) or connector.did
    if not isinstance(by, str):
        raise MessageError("indicated_by is a string", code="invalid_request")
    service = _service(connector)
    return await connector.store.call(
        lambda: service.give(data, by=by, method=OPERATOR_METHOD, direction="local")
    )


@management.get("/consents", response_model=list[ConsentOut], responses=ERRORS_400)
async def list_consents(
    connector: ConnectorDep,
    subject: str | None = Query(None, max_length=512),
    status: str | None = Query(None, description="given, withdrawn or expired"),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
) -> list[dict[str, Any]]:
    """Consent records, newest first (filter by `subject` and `status`)."""
    service = _service(connector)
    return await connector.store.call(
        lambda: service.records(subject=subject, status=status, limit=limit, offset=offset)
    )


@management.get(
    "/consents/{record_id:path}/receipts",
    response_model=list[ReceiptOut],
    responses={**ERRORS_400, **ERRORS_404},
)
async def receipts(record_id: str, connector: ConnectorDep) -> list[dict[str, Any]]:
    """The signed receipts of a consent record, oldest first (one per change)."""
    service = _service(connector)
    shown = await connector.store.call(lambda: service.show(record_id))
    return list(shown["receipts"])


@management.post(
    "/consents/{record_id:path}/withdraw",
    response_model=ConsentChangeOut,
    responses={**ERRORS_400, **ERRORS_404},
)
async def withdraw(record_id: str, connector: ConnectorDep) -> dict[str, Any]:
    """Withdraw a consent (on the subject's word): from the next access on, none of the
    subject's rows leave under it, and live streams stop carrying them."""
    service = _service(connector)
    return await connector.store.call(
        lambda: service.withdraw(record_id, by=connector.did, method=OPERATOR_METHOD)
    )


@management.get(
    "/consents/{record_id:path}",
    response_model=ConsentShownOut,
    responses={**ERRORS_400, **ERRORS_404},
)
async def show(record_id: str, connector: ConnectorDep) -> dict[str, Any]:
    """One consent record, with its DPV JSON-LD and its receipts."""
    service = _service(connector)
    return await connector.store.call(lambda: service.show(record_id))


@management.post(
    "/consent-portals",
    status_code=201,
    response_model=PortalTokenOut,
    responses={**ERRORS_400, **TOO_LARGE},
    openapi_extra=PORTAL_BODY,
)
async def add_portal(request: Request, connector: ConnectorDep) -> dict[str, Any]:
    """`{"name": "..."}` -> the portal with its token (shown this once)."""
    data = await _object(request)
    name = data.get("name")
    if not isinstance(name, str):
        raise MessageError('send {"name": "..."}', code="invalid_request")
    service = _service(connector)
    return await connector.store.call(lambda: service.add_portal(name))


@management.get("/consent-portals", response_model=list[PortalOut])
async def list_portals(connector: ConnectorDep) -> list[dict[str, Any]]:
    """The resident portals (their tokens are not kept, only their hashes)."""
    service = _service(connector)
    return await connector.store.call(service.portals)


@management.post(
    "/consent-portals/{portal_id}/revoke",
    response_model=PortalOut,
    responses={**ERRORS_400, **ERRORS_404},
)
async def revoke_portal(portal_id: str, connector: ConnectorDep) -> dict[str, Any]:
    """The portal's token stops working at once; its record stays."""
    service = _service(connector)
    return await connector.store.call(lambda: service.revoke_portal(portal_id))


# -- the resident portal -----------------------------------------------------------------------


async def _portal_name(request: Request, connector: Any) -> str:
    service = _service(connector)
    row = await connector.store.call(lambda: service.portal(request.headers.get("authorization")))
    return str(row.name)


@portal.get("/subjects/{subject}/consents")
async def portal_list(subject: str, request: Request, connector: ConnectorDep) -> list[Any]:
    await _portal_name(request, connector)
    service = _service(connector)
    return await connector.store.call(lambda: service.records(subject=subject))


@portal.post("/subjects/{subject}/consents", status_code=201)
async def portal_give(subject: str, request: Request, connector: ConnectorDep) -> dict[str, Any]:
    """Give consent for `subject` (the portal has authenticated the resident)."""
    name = await _portal_name(request, connector)
    data = await _object(request)
    if data.get("subject", subject) != subject:
        raise MessageError("the body names another subject than the path", code="wrong_subject")
    data["subject"] = subject
    service = _service(connector)
    return await connector.store.call(
        lambda: service.give(
            data, by=portal_agent(name), method=f"portal:{name}", direction="inbound"
        )
    )


@portal.get("/subjects/{subject}/consents/{record_id}")
async def portal_show(
    subject: str, record_id: str, request: Request, connector: ConnectorDep
) -> dict[str, Any]:
    await _portal_name(request, connector)
    service = _service(connector)
    return await connector.store.call(lambda: service.show(record_id, subject=subject))


@portal.post("/subjects/{subject}/consents/{record_id}/withdraw")
async def portal_withdraw(
    subject: str, record_id: str, request: Request, connector: ConnectorDep
) -> dict[str, Any]:
    name = await _portal_name(request, connector)
    service = _service(connector)
    return await connector.store.call(
        lambda: service.withdraw(
            record_id,
            by=portal_agent(name),
            method=f"portal:{name}",
            direction="inbound",
            subject=subject,
        )
    )
