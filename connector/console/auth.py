"""Logging in with the operator token, out, and the language of the pages."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from connector.console import i18n
from connector.console.backend import ConsoleError
from connector.console.session import LOGIN_COOKIE, OIDC_LOGOUT_COOKIE, SESSION_COOKIE
from connector.console.web import (
    LANG_COOKIE,
    console_of,
    now,
    onward,
    operator_form,
    read_form,
    render,
    router,
    secured,
)

# -- logging in and out --------------------------------------------------------------------------


@router.get("")
async def home() -> Response:
    return secured(RedirectResponse("/console/overview", status_code=303))


@router.get("/login")
async def login_page(request: Request) -> Response:
    return login_page_response(request)


def login_page_response(
    request: Request,
    *,
    status: int = 200,
    error: str | None = None,
    refusal: dict[str, str] | None = None,
) -> Response:
    """The login page with a fresh CSRF pair; the provider's button when one is configured."""
    console = console_of(request)
    nonce, value = console.sessions.login_pair()
    response = render(
        request,
        "login.html",
        status=status,
        login_csrf=value,
        next=_safe_next(request),
        error=error,
        refusal=refusal,
        oidc=console.oidc is not None,
        oidc_label=console.oidc.config.label if console.oidc else None,
    )
    set_cookie(request, response, LOGIN_COOKIE, nonce, max_age=1800)
    return response


def _safe_next(request: Request) -> str:
    target = request.query_params.get("next", "/console/overview")
    return target if target.startswith("/console/") and "//" not in target else "/console/overview"


def set_cookie(
    request: Request, response: Response, name: str, value: str, *, max_age: int
) -> None:
    console = console_of(request)
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=console.secure_cookies,
    )


@router.post("/login")
async def login(request: Request) -> Response:
    console = console_of(request)
    try:
        form = await read_form(request)
    except ConsoleError as exc:
        return secured(Response(exc.message, status_code=413))
    error = None
    if not console.sessions.login_ok(request.cookies.get(LOGIN_COOKIE), form.get("csrf")):
        error = "login_expired"
    elif not console.sessions.token_matches(form.get("token", "")):
        error = "login_failed"
    if error:
        return login_page_response(request, status=400, error=error)
    session, cookie = console.sessions.issue(now())
    target = form.get("next", "/console/overview")
    if not target.startswith("/console/") or "//" in target:
        target = "/console/overview"
    response = secured(RedirectResponse(target, status_code=303))
    set_cookie(
        request,
        response,
        SESSION_COOKIE,
        cookie,
        max_age=int((session.expires - now()).total_seconds()),
    )
    response.delete_cookie(LOGIN_COOKIE, path="/console")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    acting = await operator_form(request)
    if isinstance(acting, Response):
        return acting
    session, _ = acting
    console = console_of(request)
    await console.end_session(session, now())
    back = "/console/login?notice=logged_out"
    elsewhere = None
    if console.oidc is not None:
        hint = console.sessions.unseal("oidc-logout", request.cookies.get(OIDC_LOGOUT_COOKIE))
        if hint is not None and hint.get("sid") == session.sid:
            # RP-initiated logout: the provider ends its session and sends the browser back.
            elsewhere = await console.oidc.logout_url(
                str(hint.get("id_token") or ""), console.connector.settings.public_url + back
            )
    response = onward(elsewhere) if elsewhere else secured(RedirectResponse(back, status_code=303))
    response.delete_cookie(SESSION_COOKIE, path="/console")
    response.delete_cookie(OIDC_LOGOUT_COOKIE, path="/console")
    return response


@router.post("/lang")
async def set_language(request: Request) -> Response:
    acting = await operator_form(request)
    if isinstance(acting, Response):
        return acting
    _, form = acting
    lang = form.get("lang", "ja")
    back = form.get("back", "/console/overview")
    if not back.startswith("/console/") or "//" in back:
        back = "/console/overview"
    response = secured(RedirectResponse(back, status_code=303))
    if lang in i18n.LANGUAGES:
        set_cookie(request, response, LANG_COOKIE, lang, max_age=365 * 86400)
    return response
