"""The audit API: entries, proofs and signed checkpoints of this connector's log.

Read by the operator (the management token) or by an auditor the connector allows
(`[audit] auditors` in tsunagu.toml): a self-issued ID token, as on DSP requests, whose
membership credential says `role: auditor`. Every auditor request is itself an entry
(`audit.read`), written before the answer. Hashes and proofs are standard base64, as in
the C2SP and transparency-dev formats. Everything here is served from the store as it is:
the point is that a reader verifies it, not that it believes it (see
`connector.audit.verifier`).
"""

from __future__ import annotations

import base64
import hmac
import json
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from connector.api.deps import ConnectorDep, authenticate_peer, get_connector
from connector.api.door import MAX_OFFSET
from connector.audit.checkpoint import NoteVerifier, origin_for
from connector.control.checkpoints import checkpoint_now
from connector.errors import Forbidden, NotFound, Unauthenticated
from connector.store.audit_log import AuditQueries, Checkpointed
from connector.store.audit_records import record_event
from connector.store.exchange_queries import ExchangeQueries

if TYPE_CHECKING:
    from connector.app import Connector

AUDITOR_ROLE = "auditor"


async def audit_reader(request: Request) -> None:
    """The operator's management token, or an allowed auditor's ID token (its read logged)."""
    connector = get_connector(request)
    settings = connector.settings
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(token.strip(), settings.management_token):
        return
    if not settings.audit_auditors or scheme.lower() != "bearer" or token.count(".") != 2:
        raise Unauthenticated(
            "the audit API needs the management token, or an auditor's ID token where the "
            "connector allows auditors ([audit] auditors in tsunagu.toml)",
            code="operator_unauthenticated",
        )
    peer = await authenticate_peer(request)
    if peer.claims.get("role") != AUDITOR_ROLE or peer.did not in settings.audit_auditors:
        raise Forbidden(
            f"{peer.did} is not an auditor this connector allows", code="auditor_not_allowed"
        )
    read = record_event(
        at=connector.clock(),
        family="audit",
        action="read",
        subject=request.url.path,
        peer=peer.did,
        details={"method": request.method, "query": str(request.url.query)[:500]},
    )
    await connector.store.call(ExchangeQueries(connector.store).record, read)


router = APIRouter(prefix="/audit", tags=["audit"], dependencies=[Depends(audit_reader)])

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
    """Sign the log's current size and root with the key the log announces (its last key
    rotation's, see `control.checkpoints.signing_key`), once per size (a schedule can make
    them too, see `[audit] checkpoint_seconds`)."""
    row = await connector.store.call(
        checkpoint_now,
        connector.keys,
        connector.did,
        _queries(connector),
        connector.clock(),
    )
    return _checkpoint_json(connector, row)


@router.get("/entries")
async def entries(
    connector: ConnectorDep,
    start: int = Query(0, ge=0, le=MAX_OFFSET, description="First sequence number."),
    limit: int = Query(100, ge=1, le=MAX_PAGE),
) -> dict[str, Any]:
    """Entries in sequence order. `body` is the canonical JSON the leaf hash is taken over."""
    queries = _queries(connector)

    size, rows = await connector.store.call(queries.page, start, limit)
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
    connector: ConnectorDep,
    seq: Annotated[int, Path(ge=0, le=MAX_OFFSET)],
    tree_size: int = Query(..., ge=1, le=MAX_OFFSET),
) -> dict[str, Any]:
    """The audit path of entry `seq` in the tree of `tree_size` leaves (RFC 9162 §2.1.3)."""
    proof = await connector.store.call(_queries(connector).inclusion_proof, seq, tree_size)
    return {"seq": seq, "tree_size": tree_size, "proof": [_b64(h) for h in proof]}


@router.get("/consistency")
async def consistency(
    connector: ConnectorDep,
    old: int = Query(..., ge=1, le=MAX_OFFSET),
    new: int = Query(..., ge=1, le=MAX_OFFSET),
) -> dict[str, Any]:
    """The consistency proof from size `old` to size `new` (RFC 9162 §2.1.4)."""
    proof = await connector.store.call(_queries(connector).consistency_proof, old, new)
    return {"old": old, "new": new, "proof": [_b64(h) for h in proof]}


@router.get("/receipts/outbox")
async def outbox(connector: ConnectorDep) -> dict[str, Any]:
    """Receipts we owe peers that are not delivered yet (pending or failed)."""
    rows = await connector.store.call(ExchangeQueries(connector.store).pending)
    return {
        "receipts": [
            {"seq": seq, "peer": peer, "state": state, "last_error": error}
            for seq, peer, state, error in rows
        ]
    }


@router.get("/cosignatures")
async def cosignatures(connector: ConnectorDep) -> dict[str, Any]:
    """Peers' cosignatures of our checkpoints (C2SP tlog-cosignature v1 signature lines),
    with the size and root each covers."""
    queries = _queries(connector)

    def read() -> list[dict[str, Any]]:
        out = []
        for size, witness, line in ExchangeQueries(connector.store).cosignatures():
            row = queries.checkpoint(size)
            if row is not None:
                out.append(
                    {"size": size, "root": _b64(row.root), "witness": witness, "cosignature": line}
                )
        return out

    return {"origin": origin_for(connector.did), "cosignatures": await connector.store.call(read)}
