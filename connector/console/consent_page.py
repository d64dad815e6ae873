"""Consent records for personal data: who allowed what, for whom, until when; withdraw one."""

from __future__ import annotations

import urllib.parse

from fastapi import Request
from fastapi.responses import Response

from connector.console.backend import ConsoleError
from connector.console.web import (
    PAGE,
    back,
    console_of,
    offset_of,
    operator_form,
    render,
    router,
    session_of,
    to_login,
)

STATUSES = ("given", "withdrawn", "expired")


async def _page(request: Request, error: str | None = None) -> Response:
    session = await session_of(request)
    if session is None:
        return to_login(request)
    status = request.query_params.get("status", "")
    subject = request.query_params.get("subject", "").strip()
    offset = offset_of(request)
    params: dict[str, str | int] = {"limit": PAGE + 1, "offset": offset}
    if status in STATUSES:
        params["status"] = status
    if subject:
        params["subject"] = subject
    try:
        rows = await console_of(request).backend.call("GET", "/management/consents", params=params)
    except ConsoleError as exc:
        rows, error = [], exc.message
    return render(
        request,
        "consents.html",
        status=400 if error else 200,
        session=session,
        rows=rows[:PAGE],
        more=len(rows) > PAGE,
        offset=offset,
        state=status,
        role="",
        subject=subject,
        statuses=STATUSES,
        error=error,
    )


@router.get("/consents")
async def consents(request: Request) -> Response:
    return await _page(request)


@router.post("/consents/withdraw")
async def withdraw(request: Request) -> Response:
    """Withdraw a consent on the data subject's word (effective from the very next access)."""
    acting = await operator_form(request)
    if isinstance(acting, Response):
        return acting
    _, form = acting
    path = f"/management/consents/{urllib.parse.quote(form.get('record', ''), safe='')}/withdraw"
    try:
        await console_of(request).backend.call("POST", path)
    except ConsoleError as exc:
        return await _page(request, error=exc.message)
    return back("/console/consents")
