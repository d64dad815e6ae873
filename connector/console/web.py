"""What every console page shares: the router, templates, sessions, forms and headers.

Every change is a POST carrying the session's CSRF token (nothing acts through GET); every
value a peer controls is escaped by the templates (autoescape), and the pages send a strict
Content-Security-Policy: no inline script, nothing from another origin.
"""

from __future__ import annotations

import html
import urllib.parse
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from connector.console import charts, i18n
from connector.console.backend import ConsoleError
from connector.console.session import SESSION_COOKIE, Session

if TYPE_CHECKING:
    from connector.console import Console

PAGE = 25
MAX_FORM_BYTES = 256 * 1024
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
LANG_COOKIE = "tsunagu_lang"
NOTICES = {"done", "published", "logged_out", "withdrawn"}

router = APIRouter(prefix="/console", include_in_schema=False)
_templates = Environment(
    loader=PackageLoader("connector.console", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def now() -> datetime:
    return datetime.now(UTC)


def lang_of(request: Request, console: Console) -> str:
    return i18n.pick(
        request.query_params.get("lang"), request.cookies.get(LANG_COOKIE), console.name
    )


def onward(url: str) -> Response:
    """A page that sends the browser on to `url` at once (with a link, should it not). Not a
    redirect: a form's `form-action 'self'` would stop a redirect to another origin."""

    target = html.escape(url, quote=True)
    page = (
        '<!doctype html><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="0;url={target}">'
        f'<title>tsunagu</title><p><a href="{target}">{target}</a></p>'
    )
    return secured(HTMLResponse(page))


def secured(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


def render(
    request: Request,
    template: str,
    *,
    status: int = 200,
    session: Session | None = None,
    **ctx: Any,
) -> Response:
    console = console_of(request)
    lang = lang_of(request, console)
    page = _templates.get_template(template).render(
        t=i18n.translator(lang),
        lang=lang,
        name=console.name,
        did=console.did,
        csrf=console.sessions.csrf(session) if session else "",
        path=request.url.path,
        # where the language switch comes back to: this page, with its query (a dataset's id)
        here=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        notice=request.query_params.get("notice")
        if request.query_params.get("notice") in NOTICES
        else None,
        level_label=charts.level_label,
        colour=charts.colour,
        **ctx,
    )
    return secured(HTMLResponse(page, status_code=status))


async def session_of(request: Request) -> Session | None:
    """The request's session: signed, unexpired, and not logged out on any process."""
    console = console_of(request)
    session = console.sessions.read(request.cookies.get(SESSION_COOKIE), now())
    if session is None or await console.session_ended(session):
        return None
    return session


def to_login(request: Request) -> Response:
    target = urllib.parse.quote(request.url.path)
    return secured(RedirectResponse(f"/console/login?next={target}", status_code=303))


async def read_form(request: Request) -> dict[str, str]:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise ConsoleError("the form is too large", code="form_too_large")
    parsed = urllib.parse.parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {k: v[-1] for k, v in parsed.items()}


async def operator_form(request: Request) -> tuple[Session, dict[str, str]] | Response:
    """A logged-in session and its form, with the CSRF token checked; else the answer."""
    session = await session_of(request)
    if session is None:
        return to_login(request)
    try:
        form = await read_form(request)
    except ConsoleError as exc:
        return secured(Response(exc.message, status_code=413))
    if not console_of(request).sessions.csrf_ok(session, form.get("csrf")):
        return secured(Response("the form's CSRF token is missing or wrong", status_code=403))
    return session, form


def back(path: str, notice: str = "done") -> Response:
    return secured(RedirectResponse(f"{path}?notice={notice}", status_code=303))


def offset_of(request: Request) -> int:
    try:
        return max(0, min(int(request.query_params.get("offset", "0")), 10**9))
    except ValueError:
        return 0
