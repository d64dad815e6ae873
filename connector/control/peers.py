"""Who is on the other end: a peer whose token has been verified, and where a provider we
want to talk to has its protocol endpoints."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connector.errors import PeerError
from connector.identity.did import DidResolver
from connector.outbound import OutboundPolicy


@dataclass(frozen=True)
class Peer:
    did: str
    claims: dict[str, Any] = field(default_factory=dict)
    """The peer's verified membership claims (legal_name, role, municipality_code, memberships)."""


async def provider_base(resolver: DidResolver, outbound: OutboundPolicy, provider_did: str) -> str:
    """Where a provider's DSP endpoints are, from the CatalogService in its DID document: an
    address the peer gave us, so the outbound policy must allow it."""
    return await dsp_base_of(resolver, outbound, provider_did)


async def dsp_base_of(resolver: DidResolver, outbound: OutboundPolicy, did: str) -> str:
    """A peer's DSP base URL, either role: every connector's DID document names its
    CatalogService under the one DSP base that also takes negotiation and transfer messages."""
    document = await resolver.resolve(did)
    endpoint = document.service_endpoint("CatalogService")
    if not endpoint:
        raise PeerError(f"{did} publishes no CatalogService", code="no_catalog_service")
    outbound.check_url(endpoint, what=f"the CatalogService of {did}")
    return endpoint.rstrip("/").removesuffix("/catalog")
