"""The audit API: entries, proofs and signed checkpoints of this connector's log.

Guarded by the management token for now; auditor credentials come later (issue 10). Hashes
and proofs are standard base64, as in the C2SP and transparency-dev formats. Everything here
is served from the store as it is: the point is that a reader verifies it, not that it
believes it (see `connector.audit.verifier`).
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Query

from connector.api.deps import ConnectorDep, OperatorDep
from connector.audit.checkpoint import Checkpoint, NoteVerifier, origin_for, sign_checkpoint
from connector.errors import NotFound
from connector.store.audit_log import AuditQueries, Checkpointed

if TYPE_CHECKING:
    from connector.app import Connector

router = APIRouter(prefix="/audit", tags=["audit"], dependencies=[OperatorDep])

MAX_PAGE = 1000


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _queries(connector: Connector) -> AuditQueries:
    return AuditQueries(connector.store)


def _vkeys(connector: Connector) -> list[str]:
    """The verifier keys of the log, current first: retired keys signed older checkpoints."""
    origin = origin_for(connector.did)
    return [NoteVerifier(origin, k.public_key()).vkey() for k in connector.keys.published()]


def _checkpoint_json(connector: Connector, row: Checkpointed) -> dict[str, Any]:
    return {
        "origin": origin_for(connector.did),
        "size": row.size,
        "root": _b64(row.root),
        "note": row.note,
        "created_at": row.created_at.isoformat(),
        "vkeys": _vkeys(connector),
    }


@router.get("/checkpoint")
async def latest_checkpoint(connector: ConnectorDep) -> dict[str, Any]:
    """The newest signed checkpoint (C2SP tlog-checkpoint in a signed note)."""
    row = await connector.store.call(_queries(connector).latest_checkpoint)
    if row is None:
        raise NotFound("no checkpoint yet; POST /audit/checkpoint makes one", code="no_checkpoint")
    return _checkpoint_json(connector, row)


@router.post("/checkpoint", status_code=201)
async def make_checkpoint(connector: ConnectorDep) -> dict[str, Any]:
    """Sign the log's current size and root with the connector's active key.

    On demand only for now; a schedule (and cosigning by peers) is to come."""
    origin = origin_for(connector.did)
    key = connector.keys.active

    def sign(size: int, root: bytes) -> str:
        return sign_checkpoint(Checkpoint(origin, size, root), key)

    row = await connector.store.call(_queries(connector).make_checkpoint, sign, connector.clock())
    return _checkpoint_json(connector, row)


@router.get("/entries")
async def entries(
    connector: ConnectorDep,
    start: int = Query(0, ge=0, description="First sequence number."),
    limit: int = Query(100, ge=1, le=MAX_PAGE),
) -> dict[str, Any]:
    """Entries in sequence order. `body` is the canonical JSON the leaf hash is taken over."""
    queries = _queries(connector)

    def read() -> tuple[int, list[Any]]:
        return queries.size(), queries.entries(start, limit)

    size, rows = await connector.store.call(read)
    page = []
    for row in rows:
        try:
            parsed = json.loads(row.body)
        except ValueError:
            parsed = None  # served anyway: a damaged entry is evidence, not an error here
        page.append(
            {
                "seq": row.seq,
                "body": row.body,
                "entry": parsed,
                "leaf_hash": None if row.leaf_hash is None else _b64(row.leaf_hash),
            }
        )
    more = len(rows) == limit
    return {"tree_size": size, "entries": page, "next": rows[-1].seq + 1 if more else None}


@router.get("/entries/{seq}/inclusion")
async def inclusion(
    connector: ConnectorDep, seq: int, tree_size: int = Query(..., ge=1)
) -> dict[str, Any]:
    """The audit path of entry `seq` in the tree of `tree_size` leaves (RFC 9162 §2.1.3)."""
    proof = await connector.store.call(_queries(connector).inclusion_proof, seq, tree_size)
    return {"seq": seq, "tree_size": tree_size, "proof": [_b64(h) for h in proof]}


@router.get("/consistency")
async def consistency(
    connector: ConnectorDep, old: int = Query(..., ge=1), new: int = Query(..., ge=1)
) -> dict[str, Any]:
    """The consistency proof from size `old` to size `new` (RFC 9162 §2.1.4)."""
    proof = await connector.store.call(_queries(connector).consistency_proof, old, new)
    return {"old": old, "new": new, "proof": [_b64(h) for h in proof]}
