"""Logging in to the console with an OpenID Connect provider ([console.oidc] in tsunagu.toml).

The authorization code flow with PKCE (S256), state and nonce: the browser goes to the
provider, comes back with a code, and the console trades it (with its client secret and the
PKCE verifier) for an ID token. The token is verified with the provider's published keys
(JWKS): signature, issuer, audience, expiry and the nonce of this login. An operator is a
subject listed in `allowed_subjects`, or one whose `operator_claim` holds one of
`operator_values` (a group, a role). Then the console issues the same session cookie as a
login with the operator token.

The discovery document names the key, token and logout addresses, so they are a remote
party's word: each passes the outbound-request policy (connector/outbound) before it is used,
and every connection goes through the pinned client, which checks the addresses it dials. The
issuer's own host is the operator's choice and is admitted as if allow-listed. Every answer,
the token endpoint's too, is read under a deadline and a size cap. When the provider offers
`end_session_endpoint`, logging out of the console logs out there too (RP-initiated logout).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import secrets
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import httpx

from connector.errors import ConfigError, ConnectorError
from connector.identity.errors import IdentityError
from connector.identity.id_tokens import KeySet, token_header, verify_id_token
from connector.outbound import AllowList, OutboundPolicy, pinned_client
from connector.outbound.errors import OutboundRefused
from connector.outbound.reading import read_capped

DISCOVERY_SECONDS = 3600.0
FETCH_SECONDS = 10.0  # the whole of one discovery or key fetch
FETCH_BYTES = 1 << 20  # a discovery document or key set is a few kilobytes
LOGIN_SECONDS = 600  # how long a started login may take at the provider
LEEWAY_SECONDS = 30  # clocks of the provider and this connector differ a little


class OidcRefused(ConnectorError):
    """A login through the provider that the console refuses; `code` says which check."""

    status = 403


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str
    allowed_subjects: tuple[str, ...] = ()
    operator_claim: str | None = None
    operator_values: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ("openid", "profile", "email")
    label: str | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any], *, public_url: str, dev_mode: bool) -> OidcConfig:
        def text(key: str) -> str:
            value = raw.get(key)
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"[console.oidc] needs {key}", code="oidc_config")
            return value.strip()

        def texts(key: str) -> tuple[str, ...]:
            value = raw.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(
                    f"[console.oidc] {key} must be a list of strings", code="oidc_config"
                )
            return tuple(value)

        issuer = text("issuer").rstrip("/")
        scheme = urllib.parse.urlsplit(issuer).scheme
        if scheme != "https" and not (dev_mode and scheme == "http"):
            raise ConfigError(
                "[console.oidc] issuer must be an https URL (plain http only in dev mode)",
                code="oidc_config",
            )
        claim = raw.get("operator_claim")
        config = cls(
            issuer=issuer,
            client_id=text("client_id"),
            client_secret=text("client_secret"),
            redirect_uri=str(raw.get("redirect_uri") or f"{public_url}/console/oidc/callback"),
            allowed_subjects=texts("allowed_subjects"),
            operator_claim=str(claim) if claim else None,
            operator_values=texts("operator_values"),
            scopes=texts("scopes") or cls.scopes,
            label=str(raw["label"]) if raw.get("label") else None,
        )
        if not config.allowed_subjects and not (config.operator_claim and config.operator_values):
            raise ConfigError(
                "[console.oidc] says nobody is an operator: give allowed_subjects, or "
                "operator_claim with operator_values",
                code="oidc_config",
            )
        if "openid" not in config.scopes:
            raise ConfigError("[console.oidc] scopes must include openid", code="oidc_config")
        return config

    def is_operator(self, claims: Mapping[str, Any]) -> bool:
        if str(claims.get("sub")) in self.allowed_subjects:
            return True
        if not self.operator_claim:
            return False
        held = claims.get(self.operator_claim)
        values = held if isinstance(held, list) else [held]
        return any(isinstance(v, str) and v in self.operator_values for v in values)


@dataclass(frozen=True)
class Login:
    """One login under way: what goes to the provider, and what stays in a sealed cookie."""

    state: str
    nonce: str
    verifier: str
    url: str


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri")


def issuer_policy(outbound: OutboundPolicy, issuer: str) -> OutboundPolicy:
    """The connector's policy, with the configured issuer's host admitted (the operator named
    it, as an allow-list entry would); metadata addresses stay refused."""
    host = (urllib.parse.urlsplit(issuer).hostname or "").lower().rstrip(".")
    allow = AllowList(outbound.allow.hosts | {host}, outbound.allow.networks)
    return dataclasses.replace(outbound, allow=allow)


class OidcProvider:
    """The configured provider: its discovery document and keys, fetched and kept a while."""

    def __init__(self, config: OidcConfig, outbound: OutboundPolicy) -> None:
        self.config = config
        self.policy = issuer_policy(outbound, config.issuer)
        self._http = pinned_client(self.policy, timeout=httpx.Timeout(FETCH_SECONDS))
        self._discovery: dict[str, Any] | None = None
        self._fetched = 0.0
        self._keys: KeySet | None = None

    async def aclose(self) -> None:
        await self._http.aclose()

    def _checked(self, url: str, what: str) -> str:
        try:
            self.policy.check_url(url, what=f"the provider's {what}")
        except OutboundRefused as exc:
            raise OidcRefused(exc.message, code="oidc_endpoint_refused") from None
        return url

    async def _fetch(
        self, method: str, url: str, what: str, **kwargs: Any
    ) -> tuple[int, dict[str, Any] | None]:
        """One request to the provider under the deadline and size cap: its status and JSON
        object (None when the body is not one)."""
        self._checked(url, what)
        try:
            with anyio.fail_after(FETCH_SECONDS):
                async with self._http.stream(method, url, **kwargs) as response:
                    raw = await read_capped(
                        response.aiter_bytes(), FETCH_BYTES, url=url, declared=response
                    )
        except OutboundRefused as exc:
            raise OidcRefused(exc.message, code="oidc_endpoint_refused") from None
        except (httpx.HTTPError, TimeoutError, ConnectorError) as exc:
            raise OidcRefused(
                f"the login provider could not be reached at {url}: "
                f"{getattr(exc, 'message', None) or exc or exc.__class__.__name__}",
                code="oidc_unavailable",
            ) from None
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        return response.status_code, body if isinstance(body, dict) else None

    async def _get_json(self, url: str, what: str) -> dict[str, Any]:
        status, body = await self._fetch("GET", url, what)
        if status != 200 or body is None:
            raise OidcRefused(
                f"the provider's {what} {url} answered {status}, not a JSON object",
                code="oidc_unavailable",
            )
        return body

    async def discovery(self) -> dict[str, Any]:
        if self._discovery is None or time.monotonic() - self._fetched > DISCOVERY_SECONDS:
            found = await self._get_json(
                f"{self.config.issuer}/.well-known/openid-configuration", "discovery document"
            )
            if str(found.get("issuer", "")).rstrip("/") != self.config.issuer:
                raise OidcRefused(
                    f"the provider's discovery document names issuer {found.get('issuer')!r}, "
                    f"not {self.config.issuer!r}",
                    code="oidc_unavailable",
                )
            for key in ENDPOINTS:
                if not isinstance(found.get(key), str):
                    raise OidcRefused(
                        f"the discovery document has no {key}", code="oidc_unavailable"
                    )
                # Refused now, before the browser is sent anywhere.
                self._checked(str(found[key]), key)
            logout = found.get("end_session_endpoint")
            if logout is not None and not isinstance(logout, str):
                raise OidcRefused(
                    "the discovery document's end_session_endpoint is not a URL",
                    code="oidc_unavailable",
                )
            if logout:
                self._checked(logout, "end_session_endpoint")
            self._discovery, self._fetched, self._keys = found, time.monotonic(), None
        return self._discovery

    async def start(self) -> Login:
        """A new login: fresh state, nonce and PKCE verifier, and the provider's URL for it."""
        found = await self.discovery()
        login = Login(
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            verifier=secrets.token_urlsafe(48),
            url="",
        )
        query = urllib.parse.urlencode(
            {
                "response_type": "code",
                "client_id": self.config.client_id,
                "redirect_uri": self.config.redirect_uri,
                "scope": " ".join(self.config.scopes),
                "state": login.state,
                "nonce": login.nonce,
                "code_challenge": _challenge(login.verifier),
                "code_challenge_method": "S256",
            }
        )
        endpoint = str(found["authorization_endpoint"])
        joiner = "&" if "?" in endpoint else "?"
        return Login(login.state, login.nonce, login.verifier, f"{endpoint}{joiner}{query}")

    async def finish(self, code: str, verifier: str, nonce: str) -> tuple[dict[str, Any], str]:
        """Trade the code for an ID token and verify it; its claims and the token itself (the
        hint for logging out at the provider), or OidcRefused."""
        found = await self.discovery()
        status, answer = await self._fetch(
            "POST",
            str(found["token_endpoint"]),
            "token_endpoint",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.config.redirect_uri,
                "code_verifier": verifier,
            },
            auth=(self.config.client_id, self.config.client_secret),
        )
        if status != 200 or answer is None:
            reason = (answer or {}).get("error_description") or (answer or {}).get("error")
            raise OidcRefused(
                f"the provider refused the code ({status}: {str(reason or 'no reason')[:200]})",
                code="oidc_code_refused",
            )
        token = answer.get("id_token")
        if not isinstance(token, str):
            raise OidcRefused("the provider's answer has no ID token", code="oidc_token_invalid")
        claims = await self.verify(token)
        if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise OidcRefused(
                "the ID token was not made for this login (its nonce differs)",
                code="oidc_nonce_mismatch",
            )
        return claims, token

    async def logout_url(self, id_token: str | None, back: str) -> str | None:
        """Where to send the browser to log out at the provider too (None: it offers no
        end_session_endpoint, or cannot be reached: the console's own logout stands)."""
        try:
            endpoint = (await self.discovery()).get("end_session_endpoint")
        except OidcRefused:
            return None
        if not endpoint:
            return None
        query = {"client_id": self.config.client_id, "post_logout_redirect_uri": back}
        if id_token:
            query["id_token_hint"] = id_token
        joiner = "&" if "?" in endpoint else "?"
        return f"{endpoint}{joiner}{urllib.parse.urlencode(query)}"

    async def _key_for(self, kid: str | None) -> Any:
        for attempt in range(2):
            if self._keys is None or attempt:  # a key we do not know: the provider rotated
                found = await self.discovery()
                try:
                    self._keys = KeySet(await self._get_json(str(found["jwks_uri"]), "jwks_uri"))
                except IdentityError as exc:
                    raise OidcRefused(exc.message, code="oidc_unavailable") from None
            key = self._keys.find(kid)
            if key is not None:
                return key
        raise OidcRefused(
            f"the ID token is signed with a key the provider does not publish ({kid})",
            code="oidc_bad_signature",
        )

    async def verify(self, token: str) -> dict[str, Any]:
        try:
            header = token_header(token)
            key = await self._key_for(header.get("kid"))
            return verify_id_token(
                token,
                key,
                issuer=self.config.issuer,
                audience=self.config.client_id,
                leeway=LEEWAY_SECONDS,
                algorithms=[str(header["alg"])],
            )
        except IdentityError as exc:
            raise OidcRefused(
                exc.message, code=_CODES.get(exc.code, "oidc_token_invalid")
            ) from None


# The identity layer's codes, as the console's refusal page names them.
_CODES = {
    "id_token_alg_not_allowed": "oidc_bad_signature",
    "id_token_bad_signature": "oidc_bad_signature",
    "id_token_wrong_audience": "oidc_wrong_audience",
    "id_token_wrong_issuer": "oidc_wrong_issuer",
    "id_token_expired": "oidc_expired",
}
