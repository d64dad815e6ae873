"""Sending protocol messages to peers: the only place that turns client failures into ours.

Fire-and-acknowledge DSP messages (the runner's hot path) go out through aiohttp: its client
costs a fraction of httpx's CPU per request (benchmarks/negotiation.py; the same gap the data
plane measured), and a connector sends several per negotiation. Requests whose answer we read
(catalogues, datasets) keep the shared httpx client that tests can point at an ASGI app.

Every address here came from a peer (a callback, a DID document's CatalogService) or from an
operator naming a peer, so both clients are under the outbound policy (connector/outbound):
checked before the request, pinned at connect, no redirects; answers we read have the
policy's deadline and size cap. An `OutboundRefused` is passed on as it is: the runner treats
it as final, like a peer's 4xx.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import aiohttp
import httpx

from connector.errors import PeerError
from connector.logs import outgoing_headers
from connector.outbound import OutboundPolicy, PeerSession, fetch

MAX_ACK_BYTES = 256 * 1024


class PeerRejected(PeerError):
    """The peer answered with a client error: sending the same message again will not help."""

    code = "peer_rejected"

    def __init__(self, message: str, *, code: str | None = None, peer_status: int = 0) -> None:
        super().__init__(message, code=code)
        self.peer_status = peer_status  # the peer's HTTP status (0: not an HTTP answer)


class Dispatcher:
    """POSTs a message with a fresh self-issued ID token for the receiving participant."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        token_for: Callable[[str], str],
        *,
        policy: OutboundPolicy,
        timeout: float = 10.0,
        connect_timeout: float = 5.0,
    ) -> None:
        self.http = http
        self.token_for = token_for  # audience DID -> compact JWT
        self.policy = policy
        self._peers = PeerSession(  # its session is made in the running loop
            policy,
            timeout=aiohttp.ClientTimeout(total=timeout, connect=connect_timeout),
            auto_decompress=False,
            keep_cookies=False,
        )

    async def aclose(self) -> None:
        await self._peers.aclose()

    def _client(self) -> aiohttp.ClientSession:
        return self._peers.session()

    async def send(self, url: str, body: dict[str, Any], *, audience: str) -> dict[str, Any] | None:
        self.policy.check_url(url, what="the peer's address")
        headers = {
            "Authorization": f"Bearer {self.token_for(audience)}",
            "Content-Type": "application/json",
            **outgoing_headers(),  # the request this send belongs to, for the peer's logs
        }
        try:
            async with self._client().post(
                url, data=json.dumps(body).encode(), headers=headers, allow_redirects=False
            ) as response:
                status = response.status
                content = await _bounded(response)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise PeerError(f"{url}: {exc.__class__.__name__}: {exc}") from exc
        if status in (408, 425, 429) or status >= 500:
            raise PeerError(f"{url} answered {status}", code="peer_unavailable")
        if content is None:
            raise PeerRejected(f"{url} answered with an oversized body")
        if status >= 300:
            refusal = _dsp_refusal(content)
            if refusal is not None:  # the runner keys on peer_rejected; the peer's code is told
                raise PeerRejected(
                    f"{url} refused the message ({status}): {refusal[1]} [{refusal[0]}]",
                    peer_status=status,
                )
            text = content.decode("utf-8", "replace")[:500]
            raise PeerRejected(f"{url} answered {status}: {text}", peer_status=status)
        if not content:
            return None
        try:
            data = json.loads(content)
        except ValueError:
            return None  # DSP leaves most 200 bodies unspecified
        return data if isinstance(data, dict) else None

    async def send_extension(
        self, url: str, body: dict[str, Any], *, audience: str
    ) -> dict[str, Any] | None:
        """tsunagu's own messages beside DSP (usage notices, agreement signatures): the same
        door and checks as `send`, kept apart from it, whose bodies are DSP messages."""
        return await Dispatcher.send(self, url, body, audience=audience)

    async def get_json(self, url: str, *, audience: str, body: dict[str, Any] | None = None) -> Any:
        """A request whose answer we need (catalogue, dataset, process state)."""
        headers = {"Authorization": f"Bearer {self.token_for(audience)}", **outgoing_headers()}
        response = await fetch(
            self.http,
            self.policy,
            "GET" if body is None else "POST",
            url,
            headers=headers,
            json=body,
            what="the peer's address",
        )
        if response.status >= 400:
            kind = PeerRejected if response.status < 500 else PeerError
            refusal = _dsp_refusal(response.body)
            if refusal is not None:  # the peer said why: its code is ours to act on
                code, reason = refusal
                raise kind(f"{url} refused the request: {reason} [{code}]", code=code)
            text = response.body[:500].decode("utf-8", "replace")
            raise kind(f"{url} answered {response.status}: {text}")
        try:
            return json.loads(response.body)
        except (ValueError, RecursionError) as exc:
            raise PeerRejected(f"{url} did not answer with JSON") from exc


def _dsp_refusal(body: bytes) -> tuple[str, str] | None:
    """(code, reason) from a DSP error object, when the body is one with a snake_case code."""
    try:
        data = json.loads(body[:4096])
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    code, reasons = data.get("code"), data.get("reason")
    if not isinstance(code, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", code):
        return None
    reason = (
        next((r for r in reasons if isinstance(r, str)), "") if isinstance(reasons, list) else ""
    )
    return code, reason[:300] or "no reason given"


async def _bounded(response: aiohttp.ClientResponse) -> bytes | None:
    """The body, or None when it is larger than any acknowledgement needs to be."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > MAX_ACK_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
