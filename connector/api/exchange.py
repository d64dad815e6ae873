"""Between connectors: the receipts each side of an exchange gives the other.

Authenticated like every DSP request (the peer's self-issued ID token and membership
credential), under the DSP base, so a peer reaches it wherever it reaches our DSP endpoints.
The handler only verifies and records (`control.receipts.ReceiptExchange.receive`); a bad
receipt is answered 400 with its code, and kept in our log as a finding.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from connector.api.body import read_json
from connector.api.deps import ConnectorDep, PeerDep
from connector.api.schema import json_body
from connector.control.receipts import RECEIPTS_PATH, WITNESS_PATH
from connector.settings import DSP_PATH

router = APIRouter(prefix=DSP_PATH, tags=["tsunagu: audit receipts"])


@router.post(
    RECEIPTS_PATH, **json_body("A receipt: an entry of the sender's log, its proof and checkpoint.")
)
async def receive_receipt(request: Request, connector: ConnectorDep, peer: PeerDep) -> Any:
    """A peer's receipt for an entry of its log about an exchange with us."""
    body = await read_json(request, limit=connector.settings.max_body_bytes)
    outcome = await connector.receipts.receive(peer.did, body)
    return {"status": outcome}


@router.post(
    WITNESS_PATH,
    **json_body("The sender's signed checkpoint, the size we last cosigned and a proof from it."),
)
async def witness_checkpoint(request: Request, connector: ConnectorDep, peer: PeerDep) -> Any:
    """Cosign the peer's checkpoint, if it extends the last one we cosigned of its log."""
    body = await read_json(request, limit=connector.settings.max_body_bytes)
    return await connector.receipts.witness(peer.did, body)
