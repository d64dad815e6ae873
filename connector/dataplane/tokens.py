"""Access and refresh tokens of the data plane (provider side).

Access tokens are the transfer-bound EdDSA JWTs of `identity.access_tokens`, checked with our
own published keys (so a token signed just before a key rotation still verifies). A checked
token is cached until it expires: the signature is verified once, not on every request.
Refresh tokens are opaque random strings; only their SHA-256 is stored (`data_grant`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from connector.clock import Clock
from connector.dataplane.errors import TokenRejected
from connector.identity import jws
from connector.identity.access_tokens import (
    ACCESS_TOKEN_TYPE,
    MAX_LIFETIME_SECONDS,
    issue_transfer_token,
)
from connector.identity.errors import IdentityError
from connector.identity.keys import KeyRing

CLOCK_SKEW_SECONDS = 30


@dataclass(frozen=True)
class TransferClaims:
    transfer_id: str
    agreement_id: str
    consumer_did: str
    expires_at: float  # epoch seconds


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenRejected(
            "send the transfer's token as `Authorization: Bearer <token>`", code="token_missing"
        )
    return token.strip()


class TransferTokens:
    def __init__(
        self, keys: KeyRing, *, own_did: str, clock: Clock, cache_size: int = 10_000
    ) -> None:
        self.keys = keys
        self.own_did = own_did
        self.clock = clock
        self.cache_size = cache_size
        self._checked: dict[str, TransferClaims] = {}

    def issue(
        self, *, transfer_id: str, agreement_id: str, consumer_did: str
    ) -> tuple[str, datetime]:
        now = self.clock()
        token = issue_transfer_token(
            self.keys.active,
            issuer=self.own_did,
            audience=self.own_did,  # our data plane is part of our connector: same DID
            subject=consumer_did,
            agreement_id=agreement_id,
            transfer_id=transfer_id,
            now=now,
        )
        expires = datetime.fromtimestamp(int(now.timestamp()) + MAX_LIFETIME_SECONDS, UTC)
        return token, expires

    def check(self, authorization: str | None, transfer_id: str) -> TransferClaims:
        """The claims of a valid, unexpired access token for `transfer_id` (else 401)."""
        token = bearer(authorization)
        now = self.clock().timestamp()
        claims = self._checked.get(token)
        if claims is None:
            claims = self._verify(token, now)
            if len(self._checked) >= self.cache_size:
                self._forget_expired(now)
            self._checked[token] = claims
        if claims.expires_at <= now:
            self._checked.pop(token, None)
            raise TokenRejected("the token has expired; refresh it", code="token_expired")
        if claims.transfer_id != transfer_id:
            raise TokenRejected("the token is for another transfer", code="token_wrong_transfer")
        return claims

    def forget(self, transfer_id: str) -> None:
        """Drop cached tokens of a transfer (they stay rejected by the state check anyway)."""
        for token in [t for t, c in self._checked.items() if c.transfer_id == transfer_id]:
            self._checked.pop(token, None)

    def _forget_expired(self, now: float) -> None:
        for token in [t for t, c in self._checked.items() if c.expires_at <= now]:
            del self._checked[token]
        if len(self._checked) >= self.cache_size:
            self._checked.clear()  # a flood of distinct valid tokens: start over, stay bounded

    def _verify(self, token: str, now: float) -> TransferClaims:
        try:
            unverified = jws.parse(token, typ=ACCESS_TOKEN_TYPE)
            key = next((k for k in self.keys.published() if k.kid == unverified.kid), None)
            if key is None:
                raise TokenRejected(
                    "the token was not signed by this connector", code="token_foreign"
                )
            claims = jws.verify(token, key.public_key())
        except IdentityError as exc:
            raise TokenRejected(f"the token is not valid: {exc.message}", code=exc.code) from None
        if claims.get("iss") != self.own_did or claims.get("aud") != self.own_did:
            raise TokenRejected("the token was not issued for this connector", code="token_foreign")
        exp, iat = claims.get("exp"), claims.get("iat")
        subject, agreement, transfer = (
            claims.get("sub"),
            claims.get("agreement_id"),
            claims.get("transfer_id"),
        )
        if not all(isinstance(v, int) for v in (exp, iat)) or not all(
            isinstance(v, str) and v for v in (subject, agreement, transfer)
        ):
            raise TokenRejected("the token lacks required claims", code="token_missing_claim")
        assert isinstance(exp, int) and isinstance(iat, int)
        if exp - iat > MAX_LIFETIME_SECONDS or iat > now + CLOCK_SKEW_SECONDS:
            raise TokenRejected("the token's lifetime is not acceptable", code="token_lifetime")
        if exp <= now:
            raise TokenRejected("the token has expired; refresh it", code="token_expired")
        return TransferClaims(str(transfer), str(agreement), str(subject), float(exp))
