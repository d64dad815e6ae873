"""Acting as a peer by hand: signed tokens and raw protocol requests, for tests that need to
send exactly what a (possibly hostile) peer would."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
import jwt

from connector.demo.localspace import LocalDataspace

CONTEXT = ["https://w3id.org/dspace/2025/1/context.jsonld"]
DATASET = "urn:tsunagu:dataset:bad-input"


def request_body(space: LocalDataspace, dataset: str = DATASET, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "ContractRequestMessage",
        "consumerPid": f"urn:uuid:{uuid.uuid4()}",
        "offer": {
            "@type": "Offer",
            "@id": "urn:offer:bad",
            "target": dataset,
            "permission": [{"action": "use"}],
        },
        "callbackAddress": space["consumer"].settings.callback_address,
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def token(
    space: LocalDataspace,
    *,
    alg: str = "EdDSA",
    key: Any = None,
    headers: dict[str, Any] | None = None,
    sender: str = "consumer",
    receiver: str = "provider",
    **claims: Any,
) -> str:
    """A self-issued ID token from `sender` to `receiver`, with any claim overridden."""
    consumer = space[sender]
    active = consumer.connector.keys.active
    now = consumer.connector.clock()
    payload: dict[str, Any] = {
        "iss": consumer.did,
        "sub": consumer.did,
        "aud": space[receiver].did,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=60)).timestamp()),
        "jti": uuid.uuid4().hex,
        "vc": consumer.settings.credential(),
    }
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    header = {"kid": active.kid, "typ": "JWT", **(headers or {})}
    return jwt.encode(
        payload, key if key is not None else active.private_key, algorithm=alg, headers=header
    )


async def post(
    space: LocalDataspace,
    path: str,
    body: Any,
    bearer: str | None,
    *,
    who: str = "provider",
    **kwargs: Any,
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with httpx.AsyncClient() as http:
        return await http.post(
            space[who].settings.dsp_base + path, content=content, headers=headers, **kwargs
        )


async def get(
    space: LocalDataspace, path: str, bearer: str | None, *, who: str = "provider"
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    async with httpx.AsyncClient() as http:
        return await http.get(space[who].settings.dsp_base + path, headers=headers)
