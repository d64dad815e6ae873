"""Search across the data space: the harvested catalogues, with a button to negotiate."""

from __future__ import annotations

from typing import Any

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

FIELDS = ("q", "theme", "near", "publisher")


@router.get("/search")
async def search(request: Request) -> Response:
    session = await session_of(request)
    if session is None:
        return to_login(request)
    console = console_of(request)
    asked = {k: request.query_params.get(k, "").strip() for k in FIELDS}
    offset = offset_of(request)
    result: dict[str, Any] = {"hits": [], "total": 0}
    error = None
    params = {k: v for k, v in asked.items() if v} | {"limit": PAGE, "offset": offset}
    try:
        result = await console.backend.call("GET", "/management/catalog/search", params=params)
        peers = await console.backend.call("GET", "/management/catalog/peers")
    except ConsoleError as exc:
        error, peers = exc.message, []
    return render(
        request,
        "search.html",
        status=400 if error else 200,
        session=session,
        asked=asked,
        hits=result.get("hits", []),
        total=result.get("total", 0),
        offset=offset,
        more=offset + PAGE < result.get("total", 0),
        peers=peers,
        error=error,
    )


@router.post("/search/harvest")
async def harvest(request: Request) -> Response:
    acting = await operator_form(request)
    if isinstance(acting, Response):
        return acting
    await console_of(request).backend.call("POST", "/management/catalog/harvest", json={})
    return back("/console/search")


@router.post("/search/negotiate")
async def negotiate(request: Request) -> Response:
    """Start a negotiation for a dataset found in the search, with the provider's first offer."""
    acting = await operator_form(request)
    if isinstance(acting, Response):
        return acting
    session, form = acting
    body = {"provider": form.get("provider", ""), "dataset_id": form.get("dataset", "")}
    try:
        await console_of(request).backend.call("POST", "/management/negotiations", json=body)
    except ConsoleError as exc:
        return render(
            request,
            "search.html",
            status=400,
            session=session,
            asked=dict.fromkeys(FIELDS, ""),
            hits=[],
            total=0,
            offset=0,
            more=False,
            peers=[],
            error=exc.message,
        )
    return back("/console/negotiations")
