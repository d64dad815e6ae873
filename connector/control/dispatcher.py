"""Sending protocol messages to peers: the only place that turns httpx failures into ours."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from connector.errors import PeerError

MAX_ACK_BYTES = 256 * 1024


class PeerRejected(PeerError):
    """The peer answered with a client error: sending the same message again will not help."""

    code = "peer_rejected"


class Dispatcher:
    """POSTs a message with a fresh self-issued ID token for the receiving participant."""

    def __init__(self, http: httpx.AsyncClient, token_for: Callable[[str], str]) -> None:
        self.http = http
        self.token_for = token_for  # audience DID -> compact JWT

    async def send(self, url: str, body: dict[str, Any], *, audience: str) -> dict[str, Any] | None:
        headers = {"Authorization": f"Bearer {self.token_for(audience)}"}
        try:
            response = await self.http.post(url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise PeerError(f"{url}: {exc.__class__.__name__}: {exc}") from exc
        if response.status_code in (408, 425, 429) or response.status_code >= 500:
            raise PeerError(f"{url} answered {response.status_code}", code="peer_unavailable")
        if response.status_code >= 300:
            raise PeerRejected(f"{url} answered {response.status_code}: {response.text[:500]}")
        if not response.content:
            return None
        if len(response.content) > MAX_ACK_BYTES:
            raise PeerRejected(f"{url} answered with an oversized body")
        try:
            data = json.loads(response.content)
        except ValueError:
            return None  # DSP leaves most 200 bodies unspecified
        return data if isinstance(data, dict) else None

    async def get_json(self, url: str, *, audience: str, body: dict[str, Any] | None = None) -> Any:
        """A request whose answer we need (catalogue, dataset, process state)."""
        headers = {"Authorization": f"Bearer {self.token_for(audience)}"}
        try:
            if body is None:
                response = await self.http.get(url, headers=headers)
            else:
                response = await self.http.post(url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise PeerError(f"{url}: {exc.__class__.__name__}: {exc}") from exc
        if response.status_code >= 400:
            kind = PeerRejected if response.status_code < 500 else PeerError
            raise kind(f"{url} answered {response.status_code}: {response.text[:500]}")
        try:
            return response.json()
        except ValueError as exc:
            raise PeerRejected(f"{url} did not answer with JSON") from exc
