"""The operator's console: web pages under /console, served by each connector.

A front end like the CLI (it calls the connector's own management and audit APIs in-process);
its templates and assets ship in the wheel, so it works offline with no build step.
"""

from __future__ import annotations

from datetime import datetime
from importlib import resources
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.responses import Response

from connector.audit.checkpoint import NoteVerifier, origin_for
from connector.audit.client import AuditReader, verify_connector
from connector.console.backend import Backend
from connector.console.moved import BytesMoved
from connector.console.oidc import OidcConfig, OidcProvider
from connector.console.river import Feed, RiverWatch
from connector.console.session import Session, Sessions
from connector.errors import ConnectorError
from connector.store.console_queries import end_session, session_ended

if TYPE_CHECKING:
    from connector.app import Connector

ASSETS = {"console.css": "text/css", "console.js": "text/javascript"}


class Console:
    def __init__(self, connector: Connector, app: FastAPI) -> None:
        settings = connector.settings
        self.connector = connector
        self.name = settings.name
        self.did = settings.did
        self.sessions = Sessions(settings.management_token)
        # Secure cookies need HTTPS; a dev-mode connector on loopback serves plain HTTP.
        self.secure_cookies = settings.scheme == "https"
        self.backend = Backend(app, settings.management_token)
        feeds = [Feed.parse(entry, settings.directory) for entry in settings.dashboard_feeds]
        self.moved = BytesMoved(self.backend)
        self.oidc = (
            OidcProvider(
                OidcConfig.parse(
                    settings.console_oidc,
                    public_url=settings.public_url,
                    dev_mode=settings.dev_mode,
                ),
                connector.outbound,
            )
            if settings.console_oidc
            else None
        )
        self.river = RiverWatch(self.backend, connector.consumer.open, feeds)
        self.river.load()

    async def session_ended(self, session: Session) -> bool:
        def read() -> bool:
            with self.connector.store.transaction() as tx:
                return session_ended(tx, session.sid)

        return await self.connector.store.call(read)

    async def end_session(self, session: Session, now: datetime) -> None:
        """Log a session out on every process of this participant (they share the database)."""

        def write() -> None:
            with self.connector.store.transaction() as tx:
                end_session(tx, session.sid, session.expires, now)

        await self.connector.store.call(write)

    def settings_view(self) -> dict[str, Any]:
        s = self.connector.settings
        return {
            "name": s.name,
            "did": s.did,
            "public_url": s.public_url,
            "dev_mode": s.dev_mode,
            "authorities": list(s.trusted_authorities),
        }

    async def verify(self) -> dict[str, Any]:
        """Verify this connector's own log as an auditor would, over its audit API."""
        origin = origin_for(self.did)
        verifiers = [NoteVerifier(origin, k.public_key()) for k in self.connector.keys.published()]
        reader = AuditReader(
            self.backend.http, "http://console.invalid", self.connector.settings.management_token
        )
        try:
            report = await verify_connector(reader, origin=origin, verifiers=verifiers)
        except ConnectorError as exc:
            return {
                "ok": False,
                "checked": 0,
                "findings": [{"code": exc.code, "message": exc.message, "seq": None}],
            }
        return {
            "ok": report.ok,
            "checked": report.entries_checked,
            "findings": [
                {"code": f.code, "message": f.message, "seq": f.seq} for f in report.findings
            ],
        }

    def start(self) -> None:
        self.river.start()

    async def aclose(self) -> None:
        await self.river.aclose()
        if self.oidc is not None:
            await self.oidc.aclose()
        await self.backend.aclose()


def install_console(app: FastAPI, connector: Connector) -> Console:
    from connector.console import (  # noqa: F401 (they add their routes)
        audit_page,
        auth,
        consent_page,
        dashboard,
        dataset_page,
        oidc_login,
        pages,
        search_page,
    )
    from connector.console.web import router

    console = Console(connector, app)
    app.state.console = console

    @app.get("/console/assets/{name}", include_in_schema=False)
    async def asset(name: str) -> Response:
        if name not in ASSETS:
            return Response(status_code=404)
        body = resources.files("connector.console").joinpath("static", name).read_bytes()
        return Response(body, media_type=ASSETS[name], headers={"Cache-Control": "max-age=3600"})

    app.include_router(router)
    return console
