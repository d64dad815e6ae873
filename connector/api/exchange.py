"""Between connectors: the receipts each side of an exchange gives the other.

Authenticated like every DSP request (the peer's self-issued ID token and membership
credential), under the DSP base, so a peer reaches it wherever it reaches our DSP endpoints.
The handler only verifies and records (`control.receipts.ReceiptExchange.receive`): a bad
single receipt is answered 400 with its code, a batch 200 with an outcome per receipt (a
malformed batch 400 `receipt_malformed`); each bad receipt is kept in our log as a finding.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from connector.api.body import read_json
from connector.api.deps import ConnectorDep, PeerDep
from connector.api.schema import json_body
from connector.audit.receipts import MAX_BATCH
from connector.control.receipts import RECEIPTS_PATH, WITNESS_PATH
from connector.settings import DSP_PATH

router = APIRouter(prefix=DSP_PATH, tags=["tsunagu: audit receipts"])


_RECEIPTS = (
    'A batch of receipts, `{"type": "tsunagu.receipts/v1", "receipts": [...]}` (1 to '
    f"{MAX_BATCH}), or one receipt as older senders send it (`tsunagu.receipt/v1`): an entry of "
    "the sender's log, its inclusion proof and the signed checkpoint covering it."
)


_STATUS = {"type": "string", "enum": ["recorded", "repeated"]}
_OUTCOME = {
    "type": "object",
    "required": ["status"],
    "properties": {
        "status": {"type": "string", "enum": ["recorded", "repeated", "refused"]},
        "code": {"type": "string", "description": "Why it was refused, e.g. `receipt_invalid`."},
        "message": {"type": "string"},
    },
}
_ANSWER = {
    "description": "A batch: one outcome per receipt, in its order. One receipt: its status.",
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    {
                        "type": "object",
                        "required": ["outcomes"],
                        "properties": {"outcomes": {"type": "array", "items": _OUTCOME}},
                    },
                    {"type": "object", "required": ["status"], "properties": {"status": _STATUS}},
                ]
            }
        }
    },
}


@router.post(RECEIPTS_PATH, responses={200: _ANSWER}, **json_body(_RECEIPTS))
async def receive_receipt(request: Request, connector: ConnectorDep, peer: PeerDep) -> Any:
    """A peer's receipts for entries of its log about exchanges with us. A batch is answered
    `{"outcomes": [...]}`, one per receipt in its order: `{"status": "recorded"}`,
    `{"status": "repeated"}` or `{"status": "refused", "code", "message"}` (each refusal kept
    as a finding; the good receipts are recorded all the same). A malformed batch (fields,
    type, `receipts` not a list of 1 to the maximum) is a 400 `receipt_malformed` that changes
    nothing. A single receipt is answered `{"status": "recorded" | "repeated"}`, or 400 with
    its code."""
    body = await read_json(request, limit=connector.settings.max_body_bytes)
    return await connector.receipts.receive(peer.did, body)


@router.post(
    WITNESS_PATH,
    **json_body("The sender's signed checkpoint, the size we last cosigned and a proof from it."),
)
async def witness_checkpoint(request: Request, connector: ConnectorDep, peer: PeerDep) -> Any:
    """Cosign the peer's checkpoint, if it extends the last one we cosigned of its log."""
    body = await read_json(request, limit=connector.settings.max_body_bytes)
    return await connector.receipts.witness(peer.did, body)
