"""One dataset's page: what it offers, who may see it, and editing its title, description and
offers, and withdrawing an offer. Everything is checked before anything is sent, so bad input
stores nothing."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from connector.console.backend import ConsoleError
from connector.console.plain import describe, who_may_see
from connector.console.session import Session
from connector.console.web import (
    console_of,
    lang_of,
    operator_form,
    render,
    router,
    secured,
    session_of,
    to_login,
)
from policies.errors import PolicyError
from policies.profile import check_policy

TITLE_MAX = 512
EXAMPLE = '{"permission": [{"action": "use"}]}'
DESCRIPTION_MAX = 4096


def dataset_path(dataset_id: str) -> str:
    return "/console/dataset?id=" + urllib.parse.quote(dataset_id, safe="")


@router.get("/dataset")
async def dataset(request: Request) -> Response:
    session = await session_of(request)
    if session is None:
        return to_login(request)
    return await _page(request, session, request.query_params.get("id", ""), form=None, errors=[])


async def _page(
    request: Request,
    session: Session,
    dataset_id: str,
    *,
    form: dict[str, str] | None,
    errors: list[str],
    status: int = 400,
) -> Response:
    """The dataset's page; with `errors`, answered with `status` (what was refused and why)."""
    console = console_of(request)
    try:
        row = await console.backend.call("GET", _api_path(dataset_id))
    except ConsoleError as exc:
        return render(
            request,
            "dataset.html",
            status=404,
            session=session,
            row=None,
            errors=[exc.message],
            form={},
            offers=[],
        )
    lang = lang_of(request, console)
    offers = [
        {
            "id": o["id"],
            "approval": o["requires_approval"],
            "plain": describe(o["policy"], lang),
            "who": who_may_see(o["policy"], lang),
        }
        for o in row["offers"]
    ]
    shown = form if form is not None else {"title": row["title"], "description": row["description"]}
    return render(
        request,
        "dataset.html",
        status=status if errors else 200,
        session=session,
        row=row,
        offers=offers,
        form=shown,
        errors=errors,
    )


def check_edit(
    form: dict[str, str], ja: bool
) -> tuple[dict[str, Any], dict[str, Any] | None, list[str]]:
    """The change and the new offer a form asks for, and what is wrong with it, in plain words."""
    errors: list[str] = []
    title = form.get("title", "").strip()
    description = form.get("description", "").strip()
    if not title:
        errors.append("タイトルを入力してください。" if ja else "Please give the dataset a title.")
    elif len(title) > TITLE_MAX:
        errors.append(
            f"タイトルは{TITLE_MAX}文字までです。"
            if ja
            else f"The title is too long: at most {TITLE_MAX} characters."
        )
    if len(description) > DESCRIPTION_MAX:
        errors.append(
            f"説明は{DESCRIPTION_MAX}文字までです。"
            if ja
            else f"The description is too long: at most {DESCRIPTION_MAX} characters."
        )
    offer: dict[str, Any] | None = None
    text = form.get("policy", "").strip()
    if text:
        try:
            policy = json.loads(text)
            if not isinstance(policy, dict):
                raise ValueError("not an object")
            check_policy({"@type": "Offer", **policy, "@id": "urn:console:check"})
            offer = {"policy": policy, "requires_approval": form.get("approval") == "on"}
        except ValueError:
            errors.append(
                f"新しい利用条件が JSON オブジェクトとして読めません（例: {EXAMPLE}）。"
                if ja
                else f"The new offer is not a JSON object (for example {EXAMPLE})."
            )
        except PolicyError as exc:
            errors.append(
                f"新しい利用条件が ODRL として正しくありません: {exc}"
                if ja
                else f"The new offer is not a valid ODRL policy: {exc}"
            )
    return {"title": title, "description": description}, offer, errors


@router.post("/dataset/edit")
async def edit(request: Request) -> Response:
    acting = await operator_form(request)
    if isinstance(acting, Response):
        return acting
    session, form = acting
    console = console_of(request)
    dataset_id = form.get("id", "")
    change, offer, errors = check_edit(form, lang_of(request, console) == "ja")
    if errors:
        return await _page(request, session, dataset_id, form=form, errors=errors)
    path = _api_path(dataset_id)
    try:
        if offer is not None:
            await console.backend.call("POST", path + "/offers", json=offer)
        await console.backend.call("PATCH", path, json=change)
    except ConsoleError as exc:
        return await _page(
            request, session, dataset_id, form=form, errors=[exc.message], status=exc.status
        )
    return _back_to(dataset_id, "done")


@router.post("/dataset/offer/withdraw")
async def withdraw(request: Request) -> Response:
    acting = await operator_form(request)
    if isinstance(acting, Response):
        return acting
    session, form = acting
    console = console_of(request)
    dataset_id = form.get("id", "")
    path = _api_path(dataset_id) + "/offers/" + urllib.parse.quote(form.get("offer", ""), safe=":")
    try:
        await console.backend.call("DELETE", path)
    except ConsoleError as exc:
        # The API's refusal (last offer, unknown offer) in its own words, on the same page.
        return await _page(
            request, session, dataset_id, form=None, errors=[exc.message], status=exc.status
        )
    return _back_to(dataset_id, "withdrawn")


def _api_path(dataset_id: str) -> str:
    return "/management/datasets/" + urllib.parse.quote(dataset_id, safe=":")


def _back_to(dataset_id: str, notice: str) -> Response:
    """After a change: the dataset's page again, saying what happened (303, so no re-POST)."""
    target = f"/console/dataset?notice={notice}&id=" + urllib.parse.quote(dataset_id, safe="")
    return secured(RedirectResponse(target, status_code=303))
