"""Checking our own membership credential before serving: the checks that need no network
(shape, subject, issuer, validity period). Its signature and revocation are checked by every
peer that reads it; an authority that is not up yet must not stop a connector from starting."""

from __future__ import annotations

from datetime import datetime

from connector.identity import jws
from connector.identity.credentials import MembershipClaims, _read_membership
from connector.identity.errors import IdentityError
from connector.identity.status_list import VC_JWT_TYPE


def check_own_credential(
    vc_jwt: str, *, did: str, trusted: tuple[str, ...], now: datetime
) -> MembershipClaims:
    """The credential's claims, or an IdentityError whose message names the fix."""
    fix = (
        "get a new one: `tsunagu authority issue AUTHORITY_DIR --subject "
        f"'{did}' ... --output` this participant's credential.jwt"
    )
    try:
        unverified = jws.parse(vc_jwt, typ=VC_JWT_TYPE)
    except IdentityError as exc:
        raise IdentityError(
            f"the membership credential is not a VC-JWT ({exc}); {fix}", code="credential_invalid"
        ) from exc
    issuer = unverified.claims.get("iss")
    if not isinstance(issuer, str):
        raise IdentityError(f"the credential names no issuer; {fix}", code="credential_invalid")
    claims, _ = _read_membership(unverified.claims, issuer)
    if claims.subject != did:
        raise IdentityError(
            f"the credential was issued to {claims.subject}, not to this participant ({did}); "
            f"{fix}",
            code="credential_subject_mismatch",
        )
    if trusted and issuer not in trusted:
        raise IdentityError(
            f"the credential's issuer {issuer} is not among the trusted authorities "
            f"({', '.join(trusted)}); add it with [trust] in tsunagu.toml or {fix}",
            code="credential_untrusted_issuer",
        )
    if claims.valid_until <= now:
        raise IdentityError(
            f"the credential expired at {claims.valid_until.isoformat()}; {fix}",
            code="credential_expired",
        )
    return claims
