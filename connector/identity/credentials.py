"""Membership credentials: issued by a dataspace authority, presented by participants.

A membership credential is a VC 2.0 credential secured as a JWT (VC-JOSE-COSE): header
`{alg: EdDSA, typ: vc+jwt, kid}`, payload = the credential itself plus the mirrored JWT claims
`iss`, `sub`, `nbf`, `exp`, `iat`, `jti`. Its `credentialStatus` points into the authority's
Bitstring Status List; revoking sets that bit.

A verifier accepts a credential only if it is signed with an `assertionMethod` key of an
authority it trusts, is about the expected subject, is inside its validity window, and its
status bit is clear in a status list signed by the same authority.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import anyio
import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from connector.clock import Clock
from connector.identity import jws
from connector.identity.did import DidResolver
from connector.identity.encoding import from_iso, numeric_date, to_iso
from connector.identity.errors import IdentityError
from connector.identity.fetch import fetch_bounded
from connector.identity.keys import SigningKey
from connector.identity.status_list import (
    VC_CONTEXT_V2,
    VC_JWT_TYPE,
    Bitstring,
    read_status_list_credential,
)
from connector.outbound import OutboundPolicy

__all__ = [
    "MEMBERSHIP_TYPE",
    "CredentialVerifier",
    "MembershipClaims",
    "issue_membership_credential",
    "normalise_municipality_code",
]

MEMBERSHIP_TYPE = "DataspaceMembershipCredential"
STATUS_ENTRY_TYPE = "BitstringStatusListEntry"
STATUS_MAX_BYTES = 2 * 1024 * 1024
_ROLE = re.compile(r"[a-z][a-z0-9_-]{0,63}")
_STATUS_MEDIA_TYPES = frozenset({"application/vc+jwt", "application/jwt"})
_SIGNED_CACHE_SIZE = 4096  # verified credentials remembered (one per peer in practice)
_T = TypeVar("_T")


@dataclass(frozen=True)
class MembershipClaims:
    """What a verified membership credential says about its subject."""

    subject: str
    issuer: str
    legal_name: str
    role: str
    municipality_code: str | None
    memberships: tuple[str, ...]
    valid_from: datetime
    valid_until: datetime
    credential_id: str | None = None


def normalise_municipality_code(code: str) -> str:
    """A 全国地方公共団体コード in its 6-digit form; the 5-digit JIS form gets its check digit.

    Check digit: weights 6,5,4,3,2 over the five digits, r = sum mod 11, check = (11 - r) mod 10.
    """
    if not code.isascii() or not code.isdigit() or len(code) not in (5, 6):
        raise ValueError(f"municipality code {code!r} must be 5 or 6 digits")
    total = sum(
        weight * int(digit) for weight, digit in zip((6, 5, 4, 3, 2), code[:5], strict=True)
    )
    check = str((11 - total % 11) % 10)
    if len(code) == 6 and code[5] != check:
        raise ValueError(f"municipality code {code!r} has a wrong check digit (expected {check})")
    return code[:5] + check


def issue_membership_credential(
    key: SigningKey,
    *,
    issuer: str,
    subject: str,
    legal_name: str,
    role: str,
    municipality_code: str | None,
    memberships: Sequence[str],
    valid_from: datetime,
    valid_until: datetime,
    status_list_url: str,
    status_index: int,
    now: datetime,
    credential_id: str | None = None,
) -> str:
    """Sign a membership credential for `subject` as a compact VC-JWT."""
    if not legal_name.strip():
        raise ValueError("legal name must not be empty")
    if not _ROLE.fullmatch(role):
        raise ValueError(f"role {role!r} must be a lower-case word such as 'municipality'")
    if any(not m.strip() for m in memberships):
        raise ValueError("memberships must not be empty strings")
    if valid_until <= valid_from:
        raise ValueError("validUntil must be after validFrom")
    if status_index < 0:
        raise ValueError("status index must not be negative")
    credential_id = credential_id or f"urn:uuid:{uuid.uuid4()}"
    subject_claims: dict[str, Any] = {"id": subject, "legalName": legal_name, "role": role}
    if municipality_code is not None:
        subject_claims["municipalityCode"] = normalise_municipality_code(municipality_code)
    if memberships:
        subject_claims["memberOf"] = list(memberships)
    credential: dict[str, Any] = {
        "@context": [VC_CONTEXT_V2],
        "id": credential_id,
        "type": ["VerifiableCredential", MEMBERSHIP_TYPE],
        "issuer": issuer,
        "validFrom": to_iso(valid_from),
        "validUntil": to_iso(valid_until),
        "credentialSubject": subject_claims,
        "credentialStatus": {
            "id": f"{status_list_url}#{status_index}",
            "type": STATUS_ENTRY_TYPE,
            "statusPurpose": "revocation",
            "statusListIndex": str(status_index),
            "statusListCredential": status_list_url,
        },
        "iss": issuer,
        "sub": subject,
        "nbf": numeric_date(valid_from),
        "exp": numeric_date(valid_until),
        "iat": numeric_date(now),
        "jti": credential_id,
    }
    return jws.sign(key, credential, typ=VC_JWT_TYPE)


@dataclass(frozen=True)
class _StatusEntry:
    url: str
    index: int


@dataclass
class _CachedList:
    bits: Bitstring
    fetched_at: datetime


class CredentialVerifier:
    """Verifies membership credentials against the configured trusted authorities."""

    def __init__(
        self,
        resolver: DidResolver,
        http: httpx.AsyncClient,
        clock: Clock,
        trusted_authorities: Iterable[str],
        *,
        dev_mode: bool = False,
        status_ttl_seconds: float = 60,
        leeway_seconds: int = 30,
        timeout_seconds: float = 5.0,
        policy: OutboundPolicy | None = None,
    ) -> None:
        self._resolver = resolver
        self._policy = policy or OutboundPolicy(dev_mode=dev_mode)
        self._http = http
        self._clock = clock
        self._trusted = frozenset(trusted_authorities)
        self._dev_mode = dev_mode
        self._status_ttl = timedelta(seconds=status_ttl_seconds)
        self._signed: dict[str, tuple[MembershipClaims, _StatusEntry, datetime]] = {}
        self._leeway = leeway_seconds
        self._timeout = timeout_seconds
        self._lists: dict[tuple[str, str], _CachedList] = {}
        self._locks: dict[str, anyio.Lock] = {}

    async def verify(self, vc_jwt: str, *, expected_subject: str) -> MembershipClaims:
        if not isinstance(vc_jwt, str) or not vc_jwt:
            raise IdentityError("no membership credential presented", code="credential_missing")
        membership, status = await self._signed_content(vc_jwt)
        issuer = membership.issuer
        if membership.subject != expected_subject:
            raise IdentityError(
                f"credential is about {membership.subject}, not {expected_subject}",
                code="credential_subject_mismatch",
            )
        now, leeway = self._clock(), timedelta(seconds=self._leeway)
        if membership.valid_from > now + leeway:
            raise IdentityError("credential is not valid yet", code="credential_not_yet_valid")
        if membership.valid_until < now - leeway:
            raise IdentityError("credential has expired", code="credential_expired")
        bits = await self._status_list(status.url, issuer)
        if status.index >= bits.size:
            raise IdentityError(
                f"status index {status.index} is outside the list", code="status_list_invalid"
            )
        if bits.get(status.index):
            raise IdentityError("credential has been revoked", code="credential_revoked")
        return membership

    async def _signed_content(self, vc_jwt: str) -> tuple[MembershipClaims, _StatusEntry]:
        """Parse and check the signature, once per credential and status-list period.

        A peer presents the same credential with every request; checking its signature each
        time was the largest cost of a protocol message. Time and revocation are still
        checked on every call; the cache only remembers that these bytes were signed.
        """
        now = self._clock()
        cached = self._signed.get(vc_jwt)
        if cached is not None and now - cached[2] < self._status_ttl:
            return cached[0], cached[1]
        unverified = _wrap(lambda: jws.parse(vc_jwt, typ=VC_JWT_TYPE))
        issuer = unverified.claims.get("iss")
        if not isinstance(issuer, str) or issuer not in self._trusted:
            raise IdentityError(
                f"credential issuer {issuer!r} is not a trusted authority",
                code="credential_untrusted_issuer",
            )
        key = await self._authority_key(issuer, unverified.kid)
        claims = _wrap(lambda: jws.verify(vc_jwt, key))
        membership, status = _read_membership(claims, issuer)
        if len(self._signed) >= _SIGNED_CACHE_SIZE:
            self._signed.pop(next(iter(self._signed)))  # oldest first
        self._signed[vc_jwt] = (membership, status, now)
        return membership, status

    async def _authority_key(self, issuer: str, kid: str) -> Ed25519PublicKey:
        try:
            return await self._resolver.key_for(issuer, kid, relationship="assertionMethod")
        except IdentityError as exc:
            if exc.code == "token_unknown_kid":
                raise IdentityError(str(exc), code="credential_invalid") from exc
            raise

    async def _status_list(self, url: str, issuer: str) -> Bitstring:
        cached = self._lists.get((url, issuer))
        if cached is not None and self._clock() - cached.fetched_at < self._status_ttl:
            return cached.bits
        async with self._locks.setdefault(url, anyio.Lock()):
            cached = self._lists.get((url, issuer))
            if cached is not None and self._clock() - cached.fetched_at < self._status_ttl:
                return cached.bits
            bits = await self._fetch_status_list(url, issuer)
            self._lists[(url, issuer)] = _CachedList(bits, self._clock())
            return bits

    async def _fetch_status_list(self, url: str, issuer: str) -> Bitstring:
        body = await fetch_bounded(
            self._http,
            self._policy,
            url,
            accept="application/vc+jwt",
            media_types=_STATUS_MEDIA_TYPES,
            max_bytes=STATUS_MAX_BYTES,
            timeout=self._timeout,
            code="status_list_unavailable",
        )
        try:
            token = body.decode("ascii").strip()
            unverified = jws.parse(token, typ=VC_JWT_TYPE)
        except (UnicodeDecodeError, IdentityError) as exc:
            raise IdentityError(f"status list {url}: {exc}", code="status_list_invalid") from exc
        if unverified.claims.get("iss") != issuer:
            # Only the authority that issued a credential may revoke it.
            raise IdentityError(
                f"status list {url} is not issued by {issuer}", code="status_list_invalid"
            )
        key = await self._resolver.key_for(issuer, unverified.kid, relationship="assertionMethod")
        try:
            claims = jws.verify(token, key)
        except IdentityError as exc:
            raise IdentityError(f"status list {url}: {exc}", code="status_list_invalid") from exc
        return read_status_list_credential(
            claims, issuer=issuer, url=url, now=self._clock(), leeway_seconds=self._leeway
        )


def _wrap(step: Callable[[], _T]) -> _T:
    """Run a jws step and report its failure as an invalid credential (keeping the cause)."""
    try:
        return step()
    except IdentityError as exc:
        raise IdentityError(
            f"membership credential rejected: {exc}", code="credential_invalid"
        ) from exc


def _read_membership(
    claims: Mapping[str, Any], issuer: str
) -> tuple[MembershipClaims, _StatusEntry]:
    """Check the credential's shape and mirrored claims; return its content and status entry."""

    def bad(reason: str) -> IdentityError:
        return IdentityError(f"membership credential: {reason}", code="credential_invalid")

    context = claims.get("@context")
    if not isinstance(context, list) or not context or context[0] != VC_CONTEXT_V2:
        raise bad("@context must start with the VC 2.0 context")
    types = claims.get("type")
    if not isinstance(types, list) or not {"VerifiableCredential", MEMBERSHIP_TYPE} <= set(types):
        raise bad(f"type must include VerifiableCredential and {MEMBERSHIP_TYPE}")
    issuer_field = claims.get("issuer")
    if (issuer_field.get("id") if isinstance(issuer_field, dict) else issuer_field) != issuer:
        raise bad("issuer does not match iss")
    subject = claims.get("credentialSubject")
    if not isinstance(subject, dict) or not isinstance(subject.get("id"), str):
        raise bad("credentialSubject.id missing")
    if claims.get("sub", subject["id"]) != subject["id"]:
        raise bad("sub does not match credentialSubject.id")
    try:
        valid_from = from_iso(claims["validFrom"])
        valid_until = from_iso(claims["validUntil"])
    except (KeyError, TypeError, ValueError) as exc:
        raise bad(f"validFrom/validUntil missing or malformed: {exc}") from exc
    for claim, moment in (("nbf", valid_from), ("exp", valid_until)):
        if claim in claims and claims[claim] != numeric_date(moment):
            raise bad(f"{claim} does not match the credential's validity")
    if "jti" in claims and "id" in claims and claims["jti"] != claims["id"]:
        raise bad("jti does not match the credential id")
    legal_name, role = subject.get("legalName"), subject.get("role")
    code = subject.get("municipalityCode")
    members = subject.get("memberOf", [])
    if isinstance(members, str):
        members = [members]
    if not isinstance(legal_name, str) or not isinstance(role, str):
        raise bad("legalName and role are required")
    if code is not None and not isinstance(code, str):
        raise bad("municipalityCode must be a string")
    if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
        raise bad("memberOf must be a list of strings")
    credential_id = claims.get("id")
    membership = MembershipClaims(
        subject=subject["id"],
        issuer=issuer,
        legal_name=legal_name,
        role=role,
        municipality_code=code,
        memberships=tuple(members),
        valid_from=valid_from,
        valid_until=valid_until,
        credential_id=credential_id if isinstance(credential_id, str) else None,
    )
    return membership, _read_status_entry(claims.get("credentialStatus"), bad)


def _read_status_entry(value: Any, bad: Callable[[str], IdentityError]) -> _StatusEntry:
    entries = value if isinstance(value, list) else [value] if value is not None else []
    revocation = [
        e
        for e in entries
        if isinstance(e, dict)
        and e.get("type") == STATUS_ENTRY_TYPE
        and e.get("statusPurpose") == "revocation"
    ]
    if len(revocation) != 1:
        # A credential we cannot check for revocation is not accepted.
        raise bad("exactly one revocation BitstringStatusListEntry is required")
    entry = revocation[0]
    index, url = entry.get("statusListIndex"), entry.get("statusListCredential")
    if isinstance(index, int) and not isinstance(index, bool):
        index = str(index)
    if not isinstance(index, str) or not index.isascii() or not index.isdigit() or len(index) > 12:
        raise bad("statusListIndex must be a non-negative integer")
    if not isinstance(url, str):
        raise bad("statusListCredential must be a URL")
    return _StatusEntry(url=url, index=int(index))
