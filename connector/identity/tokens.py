"""Self-issued ID tokens: how one connector proves who it is on every DSP request.

The sender signs a short JWT (`typ: JWT`) with its active key: `iss = sub = its DID`, `aud =
the receiver's DID`, `iat`, `exp` (at most five minutes later), a random `jti`, and its
membership credential in the `vc` claim. The receiver checks, cheapest and most local first:

1. header: `alg` EdDSA only, `typ` JWT, a `kid` of the issuer's DID, no key-carrying or `crit`
   headers (jws.parse);
2. claims: required claims present, `iss == sub`, `aud` exactly its own DID (a list is
   refused), time window with leeway, lifetime at most 300 s;
3. the membership credential: signed by a trusted authority, about this issuer, valid, not
   revoked. This comes before resolving the issuer's DID on purpose: only DIDs an authority
   vouched for make us send a request anywhere (a forged `iss` cannot point us at any host);
4. the signature, with the `capabilityInvocation` key named by `kid` in the issuer's resolved
   DID document (one rate-limited refresh when the key is unknown, for rotations);
5. replay: the `(iss, jti)` pair is recorded until the token expires; a second use fails.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio

from connector.clock import Clock
from connector.identity import jws
from connector.identity.credentials import CredentialVerifier, MembershipClaims
from connector.identity.did import DidResolver
from connector.identity.encoding import numeric_date
from connector.identity.errors import IdentityError
from connector.identity.keys import SigningKey
from connector.identity.replay import ReplayCache

__all__ = [
    "DEFAULT_LIFETIME_SECONDS",
    "ID_TOKEN_TYPE",
    "MAX_LIFETIME_SECONDS",
    "TokenVerifier",
    "VerifiedPeer",
    "issue_id_token",
]

ID_TOKEN_TYPE = "JWT"
DEFAULT_LIFETIME_SECONDS = 60
MAX_LIFETIME_SECONDS = 300
_REQUIRED = ("iss", "sub", "aud", "iat", "exp", "jti")
# DCP forbids `sub_jwk`: the key must come from the DID document, never from the token.
_FORBIDDEN_CLAIMS = ("sub_jwk", "cnf")


def issue_id_token(
    key: SigningKey,
    *,
    issuer: str,
    audience: str,
    credential: str,
    now: datetime,
    lifetime_seconds: int = DEFAULT_LIFETIME_SECONDS,
) -> str:
    """A fresh ID token from `issuer` to `audience`, carrying `credential` in claim `vc`."""
    if not 0 < lifetime_seconds <= MAX_LIFETIME_SECONDS:
        raise ValueError(f"lifetime must be 1..{MAX_LIFETIME_SECONDS} seconds")
    issued_at = numeric_date(now)
    claims = {
        "iss": issuer,
        "sub": issuer,
        "aud": audience,
        "iat": issued_at,
        "exp": issued_at + lifetime_seconds,
        "jti": secrets.token_urlsafe(18),
        "vc": credential,
    }
    return jws.sign(key, claims, typ=ID_TOKEN_TYPE)


@dataclass(frozen=True)
class VerifiedPeer:
    """An authenticated peer: its DID, what its credential says, and the token's jti."""

    did: str
    claims: MembershipClaims
    jti: str


class TokenVerifier:
    def __init__(
        self,
        own_did: str,
        resolver: DidResolver,
        credentials: CredentialVerifier,
        replay: ReplayCache,
        clock: Clock,
        *,
        leeway_seconds: int = 30,
    ) -> None:
        self._own_did = own_did
        self._resolver = resolver
        self._credentials = credentials
        self._replay = replay
        self._clock = clock
        self._leeway = leeway_seconds

    async def verify(self, authorization_header: str | None) -> VerifiedPeer:
        """Authenticate a request from its raw `Authorization` header value."""
        token = _bearer(authorization_header)
        unverified = jws.parse(token, typ=ID_TOKEN_TYPE)
        claims = unverified.claims
        issuer, jti, expires = self._check_claims(claims, unverified.kid)
        credential = claims.get("vc")
        if not isinstance(credential, str) or not credential:
            raise IdentityError(
                "token carries no membership credential (vc)", code="credential_missing"
            )
        membership = await self._credentials.verify(credential, expected_subject=issuer)
        key = await self._resolver.key_for(issuer, unverified.kid)
        jws.verify_parsed(unverified, key)  # the claims checked above are the signed ones
        # Only a fully verified token may use up its jti, so junk cannot fill the cache.
        until = expires + timedelta(seconds=self._leeway)
        if getattr(self._replay, "inline", True):  # in memory, or SQLite's one writer
            fresh = self._replay.remember(issuer, jti, until)
        else:  # a database round trip: not on the event loop, so requests overlap
            fresh = await anyio.to_thread.run_sync(self._replay.remember, issuer, jti, until)
        if not fresh:
            raise IdentityError(
                f"token {jti!r} from {issuer} was already used", code="token_replayed"
            )
        return VerifiedPeer(did=issuer, claims=membership, jti=jti)

    def _check_claims(self, claims: dict[str, Any], kid: str) -> tuple[str, str, datetime]:
        missing = [name for name in _REQUIRED if name not in claims]
        if missing:
            raise IdentityError(f"token lacks claims {missing}", code="token_missing_claim")
        forbidden = [name for name in _FORBIDDEN_CLAIMS if name in claims]
        if forbidden:
            raise IdentityError(
                f"token carries forbidden claims {forbidden}", code="token_forbidden_claim"
            )
        issuer, subject, audience, jti = claims["iss"], claims["sub"], claims["aud"], claims["jti"]
        if not isinstance(issuer, str) or not isinstance(jti, str) or not jti or len(jti) > 256:
            raise IdentityError("iss and jti must be strings", code="token_malformed")
        if subject != issuer:
            raise IdentityError("a self-issued token needs iss == sub", code="token_wrong_subject")
        if not kid.startswith(issuer + "#"):
            raise IdentityError(
                f"key id {kid!r} is not a key of {issuer}", code="token_unknown_kid"
            )
        if audience != self._own_did:
            # Exact string only: a list audience could be replayed to every listed party.
            raise IdentityError(f"token is meant for {audience!r}", code="token_wrong_audience")
        issued_at, expires = _numeric(claims, "iat"), _numeric(claims, "exp")
        not_before = _numeric(claims, "nbf") if "nbf" in claims else None
        now, leeway = self._clock().timestamp(), self._leeway
        if now > expires + leeway:
            raise IdentityError("token has expired", code="token_expired")
        if not_before is not None and not_before > now + leeway:
            raise IdentityError("token is not valid yet (nbf)", code="token_not_yet_valid")
        if issued_at > now + leeway:
            raise IdentityError("token is issued in the future (iat)", code="token_not_yet_valid")
        if expires <= issued_at:
            raise IdentityError("token expires before it is issued", code="token_malformed")
        if expires - issued_at > MAX_LIFETIME_SECONDS:
            raise IdentityError(
                f"token lifetime exceeds {MAX_LIFETIME_SECONDS} s", code="token_lifetime_too_long"
            )
        return issuer, jti, datetime.fromtimestamp(expires, UTC)


def _numeric(claims: dict[str, Any], name: str) -> float:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise IdentityError(f"claim {name} must be a NumericDate", code="token_malformed")
    return float(value)


def _bearer(header: str | None) -> str:
    if header is None or not header.strip():
        raise IdentityError("no Authorization header", code="token_missing")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise IdentityError("Authorization must be 'Bearer <token>'", code="token_malformed")
    return token
