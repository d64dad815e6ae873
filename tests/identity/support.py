"""Test helpers: hand-made JWS (tests never import pyjwt) and an in-process dataspace."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from connector.api.authority import build_authority_app
from connector.clock import ManualClock
from connector.identity.authority import Authority
from connector.identity.credentials import CredentialVerifier
from connector.identity.did import DidResolver, build_did_document, did_web
from connector.identity.keys import KeyRing
from connector.identity.replay import MemoryReplayCache
from connector.identity.tokens import TokenVerifier, issue_id_token


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: dict[str, Any]) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


def forge(
    header: dict[str, Any],
    claims: dict[str, Any],
    key: Ed25519PrivateKey | None = None,
    *,
    signature: bytes | None = None,
) -> str:
    """A compact JWS signed with Ed25519 over exactly these header and claims."""
    signing_input = f"{segment(header)}.{segment(claims)}"
    if signature is None:
        signature = key.sign(signing_input.encode()) if key is not None else b""
    return f"{signing_input}.{b64(signature)}"


def forge_text(header: dict[str, Any], payload: str, key: Ed25519PrivateKey) -> str:
    """Like `forge`, with the payload given as raw text (for JSON that is not quite JSON)."""
    signing_input = f"{segment(header)}.{b64(payload.encode())}"
    return f"{signing_input}.{b64(key.sign(signing_input.encode()))}"


def forge_hs256(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    signing_input = f"{segment(header)}.{segment(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def unverified_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


class Routes(httpx.AsyncBaseTransport):
    """Routes each request by host:port to an ASGI app and counts requests per URL."""

    def __init__(self) -> None:
        self.apps: dict[str, FastAPI] = {}
        self.calls: Counter[str] = Counter()

    def mount(self, netloc: str, app: FastAPI) -> None:
        self.apps[netloc] = app

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls[str(request.url)] += 1
        app = self.apps.get(request.url.netloc.decode())
        if app is None:
            raise httpx.ConnectError("connection refused", request=request)
        return await httpx.ASGITransport(app=app).handle_async_request(request)


def did_app(did: str, keys: KeyRing) -> FastAPI:
    """A participant's /.well-known/did.json, built on every request (rotations show up)."""
    app = FastAPI()

    @app.get("/.well-known/did.json")
    def document() -> dict[str, Any]:
        return build_did_document(did, keys, catalog_url=None, data_service_url=None)

    return app


@dataclass
class Participant:
    did: str
    keys: KeyRing
    credential: str

    def token(self, audience: str, clock: ManualClock, **kwargs: Any) -> str:
        return issue_id_token(
            self.keys.active,
            issuer=self.did,
            audience=audience,
            credential=self.credential,
            now=clock(),
            **kwargs,
        )


@dataclass
class Dataspace:
    """One authority, participants on localhost ports, all served in-process (dev mode)."""

    root: Path
    clock: ManualClock
    routes: Routes = field(default_factory=Routes)
    authorities: dict[str, Authority] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.http = httpx.AsyncClient(transport=self.routes)
        self.authority = self.add_authority("basin", 8200)
        self.resolver = DidResolver(self.http, self.clock, dev_mode=True)
        self.credentials = CredentialVerifier(
            self.resolver, self.http, self.clock, [self.authority.did], dev_mode=True
        )
        self.replay = MemoryReplayCache(self.clock)
        self.own_did = did_web("localhost", 8100)

    def add_authority(self, name: str, port: int) -> Authority:
        authority = Authority.init(self.root / name, name=name, port=port)
        self.routes.mount(f"localhost:{port}", build_authority_app(authority, self.clock))
        self.authorities[name] = authority
        return authority

    def participant(
        self, port: int, *, authority: Authority | None = None, valid_days: int = 30
    ) -> Participant:
        did = did_web("localhost", port)
        keys = KeyRing.create(self.root / f"participant-{port}", did)
        self.routes.mount(f"localhost:{port}", did_app(did, keys))
        credential = (authority or self.authority).issue(
            subject=did,
            legal_name=f"Participant {port}",
            role="municipality",
            municipality_code="13101",
            memberships=["urn:example:basin-council"],
            valid_days=valid_days,
            now=self.clock(),
        )
        return Participant(did, keys, credential)

    def verifier(self) -> TokenVerifier:
        return TokenVerifier(self.own_did, self.resolver, self.credentials, self.replay, self.clock)
