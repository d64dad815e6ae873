"""The console's routes for logging in through the OpenID Connect provider (connector/console/
oidc.py does the protocol): start a login, and take the provider's answer back."""

from __future__ import annotations

import hmac
from datetime import timedelta

from fastapi import Request
from fastapi.responses import Response

from connector.console.auth import login_page_response, set_cookie
from connector.console.backend import ConsoleError
from connector.console.oidc import LOGIN_SECONDS, OidcRefused
from connector.console.session import LOGIN_COOKIE, OIDC_LOGOUT_COOKIE, SESSION_COOKIE
from connector.console.web import console_of, now, onward, read_form, router, secured
from connector.errors import ConnectorError

OIDC_COOKIE = "tsunagu_oidc"  # the login under way: state, nonce, PKCE verifier (sealed)
REPLAY_ISSUER = "tsunagu-console-oidc-state"  # the replay cache's namespace for used states


def _refused(request: Request, exc: ConnectorError) -> Response:
    response = login_page_response(
        request,
        status=exc.status if exc.status < 500 else 502,
        refusal={"code": exc.code, "message": exc.message},
    )
    response.delete_cookie(OIDC_COOKIE, path="/console/oidc")
    return response


@router.post("/oidc/login")
async def oidc_login(request: Request) -> Response:
    """Off to the provider (a POST with the login form's CSRF pair: nothing starts by a link)."""
    console = console_of(request)
    if console.oidc is None:
        return secured(Response("no OpenID Connect provider is configured", status_code=404))
    try:
        form = await read_form(request)
    except ConsoleError as exc:
        return secured(Response(exc.message, status_code=413))
    if not console.sessions.login_ok(request.cookies.get(LOGIN_COOKIE), form.get("csrf")):
        return login_page_response(request, status=400, error="login_expired")
    try:
        login = await console.oidc.start()
    except OidcRefused as exc:
        return _refused(request, exc)
    target = form.get("next", "/console/overview")
    sealed = console.sessions.seal(
        "oidc",
        {
            "state": login.state,
            "nonce": login.nonce,
            "verifier": login.verifier,
            "next": target
            if target.startswith("/console/") and "//" not in target
            else "/console/overview",
            "exp": int((now() + timedelta(seconds=LOGIN_SECONDS)).timestamp()),
        },
    )
    # A page that moves on, not a redirect: the login form's `form-action 'self'` would stop a
    # redirect to the provider's origin.
    response = onward(login.url)
    # Lax, not Strict: the provider sends the browser back here from its own site.
    response.set_cookie(
        OIDC_COOKIE,
        sealed,
        max_age=LOGIN_SECONDS,
        path="/console/oidc",
        httponly=True,
        samesite="lax",
        secure=console.secure_cookies,
    )
    return response


@router.get("/oidc/callback")
async def oidc_callback(request: Request) -> Response:
    console = console_of(request)
    if console.oidc is None:
        return secured(Response("no OpenID Connect provider is configured", status_code=404))
    query = request.query_params
    try:
        if query.get("error"):
            raise OidcRefused(
                f"the provider said: {query.get('error_description') or query.get('error')}",
                code="oidc_provider_refused",
            )
        login = console.sessions.unseal("oidc", request.cookies.get(OIDC_COOKIE))
        at = now()
        if login is None or int(login.get("exp", 0)) <= at.timestamp():
            raise OidcRefused(
                "this login was not started here, or took too long; please log in again",
                code="oidc_no_login",
            )
        state = query.get("state", "")
        if not state or not hmac.compare_digest(state.encode(), str(login["state"]).encode()):
            raise OidcRefused(
                "the provider's answer is for another login (state)", code="oidc_state_mismatch"
            )
        # A state is good once, on any process of this participant (the shared replay cache).
        expires = at + timedelta(seconds=LOGIN_SECONDS)
        fresh = await console.connector.store.call(
            console.connector.store.remember, REPLAY_ISSUER, state, expires
        )
        if not fresh:
            raise OidcRefused(
                "this login's answer was used already (replayed state)", code="oidc_state_replayed"
            )
        code = query.get("code", "")
        if not code:
            raise OidcRefused("the provider's answer has no code", code="oidc_no_code")
        claims, id_token = await console.oidc.finish(
            code, str(login["verifier"]), str(login["nonce"])
        )
        if not console.oidc.config.is_operator(claims):
            raise OidcRefused(
                f"{claims.get('sub')} is not an operator of this connector "
                "(not in allowed_subjects, nor holding the operator claim)",
                code="oidc_not_operator",
            )
    except OidcRefused as exc:
        return _refused(request, exc)
    session, cookie = console.sessions.issue(at)
    # A page, not a redirect: the session cookie is SameSite=Strict, and a redirect chain that
    # began at the provider's site would not carry it to the next page.
    response = onward(str(login["next"]))
    set_cookie(
        request,
        response,
        SESSION_COOKIE,
        cookie,
        max_age=int((session.expires - at).total_seconds()),
    )
    response.delete_cookie(OIDC_COOKIE, path="/console/oidc")
    # For logging out at the provider too; tied to this session, so no other session uses it.
    hint = console.sessions.seal("oidc-logout", {"sid": session.sid, "id_token": id_token})
    lifetime = int((session.expires - at).total_seconds())
    set_cookie(request, response, OIDC_LOGOUT_COOKIE, hint, max_age=lifetime)
    return response
