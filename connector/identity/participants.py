"""The authority's signed list of its participants: who is in the data space, and where
their connectors are.

A compact JWS (typ `tsunagu-participants+jwt`, Ed25519, the authority's key) whose claims are

    {"iss": <authority DID>, "iat": ..., "exp": ..., "participants": [
        {"did": ..., "name": ..., "address": <DSP base>, "roles": [...]}, ...]}

Revoked members are left out. Connectors fetch it from `<authority>/participants` (through
the outbound policy), verify it against the authority's DID document, and harvest the
catalogues of those listed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from connector.identity import jws
from connector.identity.did import DidResolver, did_web_document_url
from connector.identity.errors import IdentityError
from connector.identity.keys import SigningKey

PARTICIPANTS_TYPE = "tsunagu-participants+jwt"
VALIDITY = timedelta(hours=24)


@dataclass(frozen=True)
class ListedParticipant:
    did: str
    name: str
    address: str
    roles: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "did": self.did,
            "name": self.name,
            "address": self.address,
            "roles": list(self.roles),
        }


def default_address(did: str) -> str:
    """A did:web participant's DSP base, where tsunagu serves it: beside its DID document."""
    document = did_web_document_url(did, dev_mode=True)
    return document.removesuffix("/.well-known/did.json") + "/dsp/2025-1"


def sign_participants(
    key: SigningKey, *, issuer: str, participants: Sequence[ListedParticipant], now: datetime
) -> str:
    claims = {
        "iss": issuer,
        "iat": int(now.timestamp()),
        "exp": int((now + VALIDITY).timestamp()),
        "participants": [p.to_json() for p in participants],
    }
    return jws.sign(key, claims, typ=PARTICIPANTS_TYPE)


async def verify_participants(
    token: str, *, authority: str, resolver: DidResolver, now: datetime
) -> list[ListedParticipant]:
    """The participants of a list signed by `authority`; IdentityError when it is not."""
    unverified = jws.parse(token.strip(), typ=PARTICIPANTS_TYPE)
    if unverified.claims.get("iss") != authority:
        raise IdentityError(
            f"the participant list is issued by {unverified.claims.get('iss')!r}, not {authority}",
            code="participants_wrong_issuer",
        )
    key = await resolver.key_for(authority, unverified.kid, relationship="assertionMethod")
    claims = jws.verify(token.strip(), key)
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp < now.timestamp():
        raise IdentityError("the participant list has expired", code="participants_expired")
    listed = claims.get("participants")
    if not isinstance(listed, list):
        raise IdentityError("the participant list lists nobody", code="participants_malformed")
    out = []
    for entry in listed:
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("did"), str)
            and isinstance(entry.get("address"), str)
        ):
            raise IdentityError(
                "a participant entry lacks did or address", code="participants_malformed"
            )
        raw_roles = entry.get("roles")
        roles: list[Any] = raw_roles if isinstance(raw_roles, list) else []
        out.append(
            ListedParticipant(
                did=entry["did"],
                name=str(entry.get("name") or ""),
                address=entry["address"],
                roles=tuple(str(r) for r in roles),
            )
        )
    return out
