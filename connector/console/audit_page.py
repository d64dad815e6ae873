"""The audit page: the log's timeline, its last checkpoint, and verifying it now.

The timeline is paged, newest first, and filterable by any text of an entry (a process id, a
DID, an event name): the audit API pages by sequence only, so the filter reads back through the
log a bounded number of entries per page view."""

from __future__ import annotations

import json
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
    wanted = request.query_params.get("q", "").strip()[:200]
    if wanted:
        entries, before = await _matching(console, wanted, _bound(request, "before", size))
        return render(
            request,
            "audit.html",
            session=session,
            checkpoint=checkpoint,
            size=size,
            entries=entries,
            begin=0,
            page=PAGE,
            verdict=verdict,
            q=wanted,
            before=before,
        )
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
        q="",
        before=None,
    )


SCAN = 1000  # entries the audit API gives in one page
SCAN_PAGES = 5  # how far back one filtered page view reads


def _bound(request: Request, name: str, size: int) -> int:
    try:
        return max(0, min(int(request.query_params.get(name, size)), size))
    except ValueError:
        return size


async def _matching(console: Any, wanted: str, end: int) -> tuple[list[dict[str, Any]], int | None]:
    """Up to PAGE entries before `end` whose text holds `wanted`, newest first, and where the
    next (older) page would start reading (None: the log's beginning was reached)."""
    needle = wanted.casefold()
    found: list[dict[str, Any]] = []
    for _ in range(SCAN_PAGES):
        if end <= 0:
            return found, None
        begin = max(0, end - SCAN)
        chunk = await console.backend.call(
            "GET", "/audit/entries", params={"start": begin, "limit": end - begin}
        )
        for e in reversed(chunk["entries"]):
            if needle in json.dumps(e.get("entry"), ensure_ascii=False).casefold():
                found.append(e)
                if len(found) == PAGE:
                    return found, int(e["seq"])
        end = begin
    return found, end if end > 0 else None


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
