"""The operator's pages: overview, datasets, negotiations, agreements and transfers."""

from __future__ import annotations

import json
import urllib.parse
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import Response

from connector.console.backend import ConsoleError
from connector.console.moved import human
from connector.console.plain import describe
from connector.console.session import Session
from connector.console.web import (
    PAGE,
    back,
    console_of,
    lang_of,
    now,
    offset_of,
    operator_form,
    render,
    router,
    secured,
    session_of,
    to_login,
)

if TYPE_CHECKING:
    from connector.console import Console

# -- pages -----------------------------------------------------------------------------------------


@router.get("/overview")
async def overview(request: Request) -> Response:
    session = await session_of(request)
    if session is None:
        return to_login(request)
    console = console_of(request)
    negotiations = await console.backend.call("GET", "/management/negotiations?limit=1000")
    transfers = await console.backend.call("GET", "/management/transfers?limit=1000")
    peers: dict[str, dict[str, Any]] = {}
    for record in [*negotiations, *transfers]:
        peer = peers.setdefault(
            record["counterparty"], {"did": record["counterparty"], "last": "", "failing": False}
        )
        peer["last"] = max(peer["last"], str(record["updated_at"]))
        peer["failing"] = peer["failing"] or bool(record.get("last_error"))
    audit = await console.backend.call("GET", "/audit/entries?start=0&limit=1")
    size = audit["tree_size"]
    recent = await console.backend.call("GET", f"/audit/entries?start={max(0, size - 10)}&limit=10")
    return render(
        request,
        "overview.html",
        session=session,
        settings=console.settings_view(),
        peers=sorted(peers.values(), key=lambda p: p["last"], reverse=True),
        recent=list(reversed(recent["entries"])),
    )


@router.get("/datasets")
async def datasets(request: Request) -> Response:
    session = await session_of(request)
    if session is None:
        return to_login(request)
    return await _datasets_page(request, session, form={}, error=None)


async def _datasets_page(
    request: Request,
    session: Session,
    *,
    form: dict[str, str],
    error: str | None,
    status: int = 200,
) -> Response:
    console = console_of(request)
    rows = await console.backend.call("GET", "/management/datasets")
    offset = offset_of(request)
    return render(
        request,
        "datasets.html",
        status=status,
        session=session,
        rows=rows[offset : offset + PAGE],
        offset=offset,
        more=len(rows) > offset + PAGE,
        form=form,
        error=error,
    )


@router.post("/datasets")
async def create_dataset(request: Request) -> Response:
    acting = await operator_form(request)
    if isinstance(acting, Response):
        return acting
    session, form = acting
    console = console_of(request)
    try:
        body = _dataset_body(form)
        await console.backend.call("POST", "/management/datasets", json=body)
    except ConsoleError as exc:
        return await _datasets_page(request, session, form=form, error=exc.message, status=400)
    return back("/console/datasets", "published")


def _json_field(form: dict[str, str], field: str, what: str) -> Any:
    text = form.get(field, "").strip()
    if not text:
        return {}
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ConsoleError(f"{what} is not JSON: {exc}", code="bad_json") from None


def _dataset_body(form: dict[str, str]) -> dict[str, Any]:
    def parsed(field: str, what: str) -> Any:
        return _json_field(form, field, what)

    policy = parsed("policy", "the offer policy")
    body: dict[str, Any] = {
        "id": form.get("id", "").strip(),
        "title": form.get("title", "").strip(),
        "description": form.get("description", "").strip(),
        "data_address": parsed("data_address", "the data address"),
        "offers": [{"policy": policy, "requires_approval": form.get("approval") == "on"}]
        if policy
        else [],
    }
    if not body["id"] or not body["title"]:
        raise ConsoleError("a dataset needs an id and a title", code="missing_field")
    return body


@router.get("/negotiations")
async def negotiations(request: Request) -> Response:
    session = await session_of(request)
    if session is None:
        return to_login(request)
    return await _process_page(request, session, "negotiations")


@router.get("/transfers")
async def transfers(request: Request) -> Response:
    session = await session_of(request)
    if session is None:
        return to_login(request)
    return await _process_page(request, session, "transfers")


async def _process_page(
    request: Request, session: Session, kind: str, error: str | None = None
) -> Response:
    console = console_of(request)
    offset = offset_of(request)
    query: dict[str, Any] = {"limit": PAGE + 1, "offset": offset}
    state = request.query_params.get("state", "")
    role = request.query_params.get("role", "")
    if state:
        query["state"] = state
    if role in ("provider", "consumer"):
        query["role"] = role
    try:
        rows = await console.backend.call("GET", f"/management/{kind}", params=query)
    except ConsoleError as exc:
        rows, error = [], exc.message
    lang = lang_of(request, console)
    moved = await console.moved.catch_up() if kind == "transfers" else {}
    for row in rows:
        row["plain"] = describe(row.get("offer"), lang) if kind == "negotiations" else []
        row.pop("data_address", None)  # it holds the consumer's bearer token
        if row["id"] in moved:
            row["moved"] = human(moved[row["id"]].bytes)
            row["reads"] = moved[row["id"]].reads
    return render(
        request,
        f"{kind}.html",
        status=400 if error else 200,
        session=session,
        rows=rows[:PAGE],
        more=len(rows) > PAGE,
        offset=offset,
        state=state,
        role=role,
        error=error,
    )


_ACTIONS = {
    "negotiations": {"approve", "terminate", "counter-offer"},
    "transfers": {"approve", "suspend", "resume", "complete", "terminate"},  # approve: held start
}


@router.post("/{kind}/{pid}/{action}")
async def act(request: Request, kind: str, pid: str, action: str) -> Response:
    acting = await operator_form(request)
    if isinstance(acting, Response):
        return acting
    session, form = acting
    if action not in _ACTIONS.get(kind, set()):
        return secured(Response("no such action", status_code=404))
    console = console_of(request)
    path = f"/management/{kind}/{urllib.parse.quote(pid, safe='')}/{action}"
    body: dict[str, Any] | None = None
    if action == "terminate" or (kind == "transfers" and action == "suspend"):
        body = {"reason": form.get("reason") or "ended by the operator in the console"}
    try:
        if action == "counter-offer":
            policy = _json_field(form, "policy", "the counter-offer")
            # a new offer of ours: a fresh id unless the operator wrote one
            body = {"policy": {"@type": "Offer", "@id": f"urn:uuid:{uuid.uuid4()}", **policy}}
        if body is None:
            await console.backend.call("POST", path)
        else:
            await console.backend.call("POST", path, json=body)
    except ConsoleError as exc:
        return await _process_page(request, session, kind, error=exc.message)
    return back(f"/console/{kind}")


@router.post("/agreements/transfer")
async def start_transfer(request: Request) -> Response:
    """Consumer: start a pull transfer under one of our agreements."""
    acting = await operator_form(request)
    if isinstance(acting, Response):
        return acting
    session, form = acting
    body = {"agreement_id": form.get("agreement", "")}
    try:
        await console_of(request).backend.call("POST", "/management/transfers", json=body)
    except ConsoleError as exc:
        return await _process_page(request, session, "transfers", error=exc.message)
    return back("/console/transfers")


@router.get("/agreements")
async def agreements(request: Request) -> Response:
    session = await session_of(request)
    if session is None:
        return to_login(request)
    console = console_of(request)
    offset = offset_of(request)
    rows = await console.backend.call(
        "GET", "/management/agreements", params={"limit": PAGE + 1, "offset": offset}
    )
    lang = lang_of(request, console)
    for row in rows:
        row["plain"] = describe(row.get("policy"), lang)
        row["duties"], row["prohibited"] = await _duties(console, row["id"])
    return render(
        request,
        "agreements.html",
        session=session,
        rows=rows[:PAGE],
        more=len(rows) > PAGE,
        offset=offset,
    )


async def _duties(console: Console, agreement_id: str) -> tuple[list[dict[str, Any]], list[str]]:
    """An agreement's duties as the policy API lists them, with an open one past its due date
    called overdue."""
    listing = await console.backend.call(
        "GET", f"/management/agreements/{urllib.parse.quote(agreement_id, safe='')}/duties"
    )
    at = now()
    out = []
    for duty in listing["duties"]:
        due = duty.get("due_at")
        state = duty["state"]
        if state == "open" and due and datetime.fromisoformat(due) <= at:
            state = "overdue"
        out.append({"action": duty["action"], "state": state, "due_at": due})
    return out, list(listing["prohibited"])


@router.get("/transfers/{pid}")
async def transfer(request: Request, pid: str) -> Response:
    session = await session_of(request)
    if session is None:
        return to_login(request)
    console = console_of(request)
    try:
        row = await console.backend.call(
            "GET", f"/management/transfers/{urllib.parse.quote(pid, safe='')}"
        )
    except ConsoleError as exc:
        return render(
            request, "transfer.html", status=404, session=session, row=None, error=exc.message
        )
    row.pop("data_address", None)
    moved = (await console.moved.catch_up()).get(row["id"])
    return render(
        request,
        "transfer.html",
        session=session,
        row=row,
        moved=human(moved.bytes) if moved else human(0),
        moved_exact=moved.bytes if moved else 0,
        reads=moved.reads if moved else 0,
    )
