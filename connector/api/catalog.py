"""DSP catalogue protocol (provider side)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from catalog.dsp import catalog_to_json, dataset_to_json
from catalog.errors import CatalogError
from connector.api.deps import ConnectorDep, PeerDep, message
from connector.errors import MessageError, NotFound
from connector.protocol.messages import CatalogRequestMessage
from connector.settings import DSP_PATH

router = APIRouter(prefix=DSP_PATH + "/catalog", tags=["dsp: catalog"])


@router.post("/request")
async def catalog_request(
    request: Request, connector: ConnectorDep, peer: PeerDep
) -> dict[str, Any]:
    """The catalogue this peer may see."""
    msg = await message(request, CatalogRequestMessage)
    if msg.filter:
        raise MessageError("catalogue filters are not supported", code="unsupported_filter")
    return catalog_to_json(connector.catalog.catalog(peer))


@router.get("/datasets/{dataset_id:path}")
async def dataset(dataset_id: str, connector: ConnectorDep, peer: PeerDep) -> dict[str, Any]:
    """One dataset with its offers."""
    try:
        return dataset_to_json(connector.catalog.dataset(dataset_id, peer), root=True)
    except (CatalogError, NotFound):
        raise NotFound(f"no dataset {dataset_id!r}", code="unknown_dataset") from None
