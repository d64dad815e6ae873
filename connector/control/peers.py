"""Who is on the other end: a peer whose token has been verified, and where a provider we
want to talk to has its protocol endpoints."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connector.errors import PeerError
from connector.identity.did import DidResolver


@dataclass(frozen=True)
class Peer:
    did: str
    claims: dict[str, Any] = field(default_factory=dict)
    """The peer's verified membership claims (legal_name, role, municipality_code, memberships)."""


async def provider_base(resolver: DidResolver, provider_did: str) -> str:
    """Where a provider's DSP endpoints are, from the CatalogService in its DID document."""
    document = await resolver.resolve(provider_did)
    endpoint = document.service_endpoint("CatalogService")
    if not endpoint:
        raise PeerError(f"{provider_did} publishes no CatalogService", code="no_catalog_service")
    return endpoint.rstrip("/").removesuffix("/catalog")
