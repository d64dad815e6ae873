"""The HTTP face of a dataspace authority: its DID document, its status list and its
participant list.

All are public and unauthenticated; verifiers fetch them. The status list is rebuilt from the
authority's directory on every request, so a revocation made by the CLI in another process is
served at once (verifiers cache it for about a minute).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response

from connector.clock import Clock
from connector.identity.authority import Authority

__all__ = ["build_authority_app"]


def build_authority_app(authority: Authority, clock: Clock) -> FastAPI:
    app = FastAPI(title=f"{authority.name} (dataspace authority)", docs_url=None, redoc_url=None)

    @app.get("/.well-known/did.json")
    def did_document() -> JSONResponse:
        """The authority's DID document (did:web)."""
        body: dict[str, Any] = authority.did_document()
        return JSONResponse(body, media_type="application/did+json")

    @app.get("/status/{list_id}")
    def status_list(list_id: str) -> Response:
        """The signed Bitstring Status List credential (VC-JWT)."""
        if list_id != authority.status_list_id:
            return JSONResponse({"error": {"code": "not_found", "message": "no such list"}}, 404)
        token = authority.status_list_credential(clock())
        return Response(
            token,
            media_type="application/vc+jwt",
            headers={"Cache-Control": "public, max-age=60"},
        )

    @app.get("/participants")
    def participants() -> Response:
        """The signed list of participants (JWS, typ tsunagu-participants+jwt)."""
        return Response(
            authority.participant_list(clock()),
            media_type="application/jwt",
            headers={"Cache-Control": "public, max-age=60"},
        )

    return app
