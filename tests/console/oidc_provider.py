"""A small OpenID Connect provider for the console's tests: real HTTP on loopback, real
RS256 and EdDSA signatures, the authorization code flow with PKCE (S256).

It logs in whoever `Behaviour.subject` says without asking (the tests play the user), and can
be told to misbehave the ways a provider or an attacker might: sign for another audience,
sign with a key it does not publish, or answer for another nonce.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from jwt.algorithms import OKPAlgorithm, RSAAlgorithm

from connector.serving import BackgroundServer, free_port

CLIENT_ID = "tsunagu-console"
CLIENT_SECRET = "console-client-secret"


@dataclass
class Behaviour:
    subject: str = "operator@b-town.example"
    claims: dict[str, Any] = field(default_factory=dict)
    alg: str = "RS256"
    audience: str | None = None  # None: the client's id
    rogue_key: bool = False  # sign with a key that is not in the JWKS
    nonce: str | None = None  # None: the nonce the console sent
    endpoints: dict[str, str] = field(default_factory=dict)  # discovery's addresses, replaced
    token_padding: int = 0  # bytes of filler in the token endpoint's answer
    logout: bool = False  # offer end_session_endpoint


@dataclass
class _Grant:
    redirect_uri: str
    challenge: str
    nonce: str
    subject: str


class LoopbackProvider:
    def __init__(self) -> None:
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.behaviour = Behaviour()
        self.redirect_uris: set[str] = set()
        self._rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._ed = ed25519.Ed25519PrivateKey.generate()
        self._rogue = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._grants: dict[str, _Grant] = {}
        self.logouts: list[dict[str, str]] = []  # the queries of end-session requests
        self.app = self._build()
        self.server = BackgroundServer(self.app, host="127.0.0.1", port=self.port)

    def settings(self, **extra: Any) -> dict[str, Any]:
        """The [console.oidc] table a connector needs for this provider."""
        return {
            "issuer": self.issuer,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "allowed_subjects": ["operator@b-town.example"],
            **extra,
        }

    def jwks(self) -> dict[str, Any]:
        rsa_jwk = RSAAlgorithm.to_jwk(self._rsa.public_key(), as_dict=True)
        ed_jwk = OKPAlgorithm.to_jwk(self._ed.public_key(), as_dict=True)
        return {
            "keys": [
                {**rsa_jwk, "kid": "rsa-1", "alg": "RS256", "use": "sig"},
                {**ed_jwk, "kid": "ed-1", "alg": "EdDSA", "use": "sig"},
            ]
        }

    def id_token(self, grant: _Grant) -> str:
        b = self.behaviour
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": b.audience or CLIENT_ID,
            "sub": grant.subject,
            "iat": now,
            "exp": now + 300,
            "nonce": b.nonce if b.nonce is not None else grant.nonce,
            **b.claims,
        }
        if b.rogue_key:
            return jwt.encode(claims, self._rogue, algorithm="RS256", headers={"kid": "rsa-1"})
        if b.alg == "EdDSA":
            return jwt.encode(claims, self._ed, algorithm="EdDSA", headers={"kid": "ed-1"})
        return jwt.encode(claims, self._rsa, algorithm="RS256", headers={"kid": "rsa-1"})

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        async def discovery() -> dict[str, Any]:
            return {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256", "EdDSA"],
                "code_challenge_methods_supported": ["S256"],
                **(
                    {"end_session_endpoint": f"{self.issuer}/logout"}
                    if self.behaviour.logout
                    else {}
                ),
                **self.behaviour.endpoints,
            }

        @app.get("/logout")
        async def logout(request: Request) -> Response:
            q = dict(request.query_params)
            self.logouts.append(q)
            back = q.get("post_logout_redirect_uri", "")
            if q.get("client_id") != CLIENT_ID or not any(
                back.startswith(u.removesuffix("/console/oidc/callback"))
                for u in self.redirect_uris
            ):
                return JSONResponse({"error": "invalid_request"}, status_code=400)
            return RedirectResponse(back, status_code=302)

        @app.get("/jwks")
        async def keys() -> dict[str, Any]:
            return self.jwks()

        @app.get("/authorize")
        async def authorize(request: Request) -> Response:
            q = request.query_params
            redirect_uri = q.get("redirect_uri", "")
            if q.get("client_id") != CLIENT_ID or redirect_uri not in self.redirect_uris:
                return JSONResponse({"error": "invalid_client"}, status_code=400)
            if q.get("response_type") != "code" or q.get("code_challenge_method") != "S256":
                return JSONResponse({"error": "invalid_request"}, status_code=400)
            if "openid" not in q.get("scope", "").split():
                return JSONResponse({"error": "invalid_scope"}, status_code=400)
            code = secrets.token_urlsafe(16)
            self._grants[code] = _Grant(
                redirect_uri,
                q.get("code_challenge", ""),
                q.get("nonce", ""),
                self.behaviour.subject,
            )
            back = urllib.parse.urlencode({"code": code, "state": q.get("state", "")})
            return RedirectResponse(f"{redirect_uri}?{back}", status_code=302)

        @app.post("/token")
        async def token(request: Request) -> Response:
            scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
            client = base64.b64decode(credentials).decode() if scheme == "Basic" else ""
            if client != f"{CLIENT_ID}:{CLIENT_SECRET}":
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            form = urllib.parse.parse_qs((await request.body()).decode())
            one = {k: v[0] for k, v in form.items()}
            grant = self._grants.pop(one.get("code", ""), None)  # a code is good once
            if grant is None or one.get("grant_type") != "authorization_code":
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            if one.get("redirect_uri") != grant.redirect_uri:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            digest = hashlib.sha256(one.get("code_verifier", "").encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.challenge:
                return JSONResponse(
                    {"error": "invalid_grant", "error_description": "PKCE verifier"},
                    status_code=400,
                )
            return JSONResponse(
                {
                    "access_token": secrets.token_urlsafe(16),
                    "token_type": "Bearer",
                    "id_token": self.id_token(grant),
                    **(
                        {"padding": "x" * self.behaviour.token_padding}
                        if self.behaviour.token_padding
                        else {}
                    ),
                }
            )

        return app
