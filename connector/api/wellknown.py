"""Unauthenticated discovery: protocol versions and the participant's DID document."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from connector.api.deps import ConnectorDep
from connector.identity.did import build_did_document
from connector.protocol.messages import version_response
from connector.settings import DSP_PATH

router = APIRouter(tags=["discovery"])


@router.get("/.well-known/dspace-version")
async def dspace_version(connector: ConnectorDep) -> dict[str, Any]:
    """Which DSP versions this connector speaks, and where."""
    return version_response(path=DSP_PATH, identifier_type="did:web", service_id=connector.did)


@router.get("/.well-known/did.json")
async def did_document(connector: ConnectorDep) -> dict[str, Any]:
    """The participant's DID document: its keys and service endpoints."""
    settings = connector.settings
    return build_did_document(
        settings.did,
        connector.keys,
        catalog_url=settings.dsp_base + "/catalog",
        data_service_url=settings.dsp_base,
    )
