"""OpenID Connect ID tokens (the console's login, connector/console/oidc.py): a provider's
published keys (JWKS) and the checks of one token against them. pyjwt lives in this layer.

Errors are `IdentityError` with codes: id_token_malformed, id_token_alg_not_allowed,
id_token_unknown_kid, id_token_bad_signature, id_token_wrong_audience, id_token_wrong_issuer,
id_token_expired, id_token_invalid, jwks_invalid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jwt

from connector.identity.errors import IdentityError

ALGORITHMS = ("RS256", "ES256", "EdDSA")  # asymmetric only: a shared secret proves nothing


class KeySet:
    """A provider's JWKS, parsed."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        try:
            self._keys = jwt.PyJWKSet.from_dict(dict(document)).keys
        except jwt.PyJWTError as exc:
            raise IdentityError(
                f"the provider's keys are unusable: {exc}", code="jwks_invalid"
            ) from None

    def find(self, kid: str | None) -> Any | None:
        for key in self._keys:
            if kid is None or key.key_id == kid:
                return key.key
        return None


def token_header(token: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise IdentityError(
            f"the ID token is not a JWT: {exc}", code="id_token_malformed"
        ) from None
    if header.get("alg") not in ALGORITHMS:
        raise IdentityError(
            f"the ID token's algorithm {header.get('alg')!r} is not accepted",
            code="id_token_alg_not_allowed",
        )
    return header


def verify_id_token(
    token: str,
    key: Any,
    *,
    issuer: str,
    audience: str,
    leeway: float,
    algorithms: Sequence[str] = ALGORITHMS,
) -> dict[str, Any]:
    """The claims of an ID token whose signature, issuer, audience and expiry hold."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key=key,
            algorithms=list(algorithms),
            audience=audience,
            issuer=issuer,
            leeway=leeway,
            options={"require": ["iss", "aud", "exp", "iat", "sub"]},
        )
    except jwt.InvalidSignatureError:
        raise IdentityError(
            "the ID token's signature does not verify", code="id_token_bad_signature"
        ) from None
    except jwt.InvalidAudienceError:
        raise IdentityError(
            "the ID token was issued for another application (audience)",
            code="id_token_wrong_audience",
        ) from None
    except jwt.InvalidIssuerError:
        raise IdentityError(
            "the ID token comes from another issuer", code="id_token_wrong_issuer"
        ) from None
    except jwt.ExpiredSignatureError:
        raise IdentityError("the ID token has expired", code="id_token_expired") from None
    except jwt.PyJWTError as exc:
        raise IdentityError(f"the ID token is not valid: {exc}", code="id_token_invalid") from None
    azp = claims.get("azp")
    if isinstance(claims.get("aud"), list) and azp not in (None, audience):
        raise IdentityError(
            "the ID token was issued to another party (azp)", code="id_token_wrong_audience"
        )
    return claims
