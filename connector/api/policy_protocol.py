"""Between connectors, beside DSP: usage notices owed under `inform` duties (provider side).
Authenticated like every DSP request (the sender's self-issued ID token)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from connector.api.body import read_json
from connector.api.deps import ConnectorDep
from connector.api.schema import json_body
from connector.errors import ConnectorError
from connector.policy.digests import DIGEST_PATH
from connector.policy.notices import NOTICE_PATH
from connector.policy.signatures import SIGNATURE_PATH
from connector.settings import DSP_PATH

router = APIRouter(prefix=DSP_PATH, tags=["tsunagu: usage notices"])


@router.post(NOTICE_PATH, **json_body("A signed usage notice: the agreement, the use and when."))
async def usage_notice(request: Request, connector: ConnectorDep) -> dict[str, Any]:
    """A consumer tells us of a use under one of our agreements (an `inform` duty)."""
    peer = await connector.verifier.verify(request.headers.get("authorization"))
    body = await read_json(request, limit=16 * 1024)
    if connector.notices is None:
        raise ConnectorError("usage notices are not kept here", code="no_policy")
    result: dict[str, Any] = await connector.store.call(connector.notices.received, peer.did, body)
    return result


@router.post(DIGEST_PATH, **json_body("A signed digest of one period's usage notices."))
async def usage_digest(request: Request, connector: ConnectorDep) -> dict[str, Any]:
    """A consumer's signed digest of one period's uses (an `inform` duty with a period)."""
    peer = await connector.verifier.verify(request.headers.get("authorization"))
    body = await read_json(request, limit=2 * 1024 * 1024)
    notices = connector.notices
    if notices is None or notices.digests is None:
        raise ConnectorError("usage digests are not kept here", code="no_policy")
    result: dict[str, Any] = await notices.digests.received(peer.did, body)
    return result


@router.post(
    SIGNATURE_PATH, **json_body("The sender's signature over an agreement's canonical form.")
)
async def agreement_signature(request: Request, connector: ConnectorDep) -> dict[str, Any]:
    """The other party's signature over an agreement we share with it."""
    peer = await connector.verifier.verify(request.headers.get("authorization"))
    body = await read_json(request, limit=16 * 1024)
    if connector.signer is None:
        raise ConnectorError("agreement signatures are not kept here", code="no_policy")
    result: dict[str, Any] = await connector.signer.received(peer.did, body)
    return result
