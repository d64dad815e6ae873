"""The audit page: the log's timeline, its last checkpoint, and verifying it now."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from connector.console.backend import ConsoleError
from connector.console.session import Session
from connector.console.web import (
    PAGE,
    back,
    console_of,
    operator_form,
    render,
    router,
    session_of,
    to_login,
)


@router.get("/audit")
async def audit(request: Request) -> Response:
    session = await session_of(request)
    if session is None:
        return to_login(request)
    return await _audit_page(request, session, verdict=None)


async def _audit_page(
    request: Request, session: Session, verdict: dict[str, Any] | None
) -> Response:
    console = console_of(request)
    try:
        checkpoint = await console.backend.call("GET", "/audit/checkpoint")
    except ConsoleError:
        checkpoint = None
    first = await console.backend.call("GET", "/audit/entries?start=0&limit=1")
    size = first["tree_size"]
    start = request.query_params.get("start")
    try:
        begin = max(0, min(int(start), size)) if start else max(0, size - PAGE)
    except ValueError:
        begin = max(0, size - PAGE)
    page = await console.backend.call("GET", f"/audit/entries?start={begin}&limit={PAGE}")
    return render(
        request,
        "audit.html",
        session=session,
        checkpoint=checkpoint,
        size=size,
        entries=list(reversed(page["entries"])),
        begin=begin,
        page=PAGE,
        verdict=verdict,
    )


@router.post("/audit/checkpoint")
async def make_checkpoint(request: Request) -> Response:
    acting = await operator_form(request)
    if isinstance(acting, Response):
        return acting
    await console_of(request).backend.call("POST", "/audit/checkpoint")
    return back("/console/audit")


@router.post("/audit/verify")
async def verify_now(request: Request) -> Response:
    acting = await operator_form(request)
    if isinstance(acting, Response):
        return acting
    session, _ = acting
    verdict = await console_of(request).verify()
    return await _audit_page(request, session, verdict=verdict)
