"""Fetching on a peer's word: one deadline for the whole exchange, a cap on what is read.

httpx's timeouts apply to each network operation, so a peer that trickles one byte just
inside the read timeout holds a request for ever; here the whole exchange (connect, send,
headers, body) runs under one deadline. The body is streamed and counting stops at the cap,
so an oversized answer costs at most the cap in memory. Redirects are never followed: the
answer to this request is a 3xx, which callers see as a `RedirectRefused`.

httpx failures are wrapped here into `PeerError`s (this module and the dispatcher are the
only places that see httpx exceptions on outbound requests).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import httpx

from connector.errors import PeerError
from connector.outbound.errors import DeadlineExceeded, RedirectRefused, ResponseTooLarge
from connector.outbound.policy import OutboundPolicy


@dataclass(frozen=True)
class Fetched:
    status: int
    headers: httpx.Headers
    body: bytes

    @property
    def media_type(self) -> str:
        value: str = self.headers.get("content-type", "")
        return value.split(";")[0].strip().lower()


async def fetch(
    http: httpx.AsyncClient,
    policy: OutboundPolicy,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    json: Any = None,
    max_bytes: int | None = None,
    deadline: float | None = None,
    what: str = "the address",
) -> Fetched:
    """`method url` under `policy`; the answer read whole, up to `max_bytes`.

    Raises OutboundRefused (the address), DeadlineExceeded, ResponseTooLarge, RedirectRefused,
    or PeerError (could not connect, broken answer). Any status other than a redirect is
    returned for the caller to judge.
    """
    policy.check_url(url, what=what)
    cap = policy.max_response_bytes if max_bytes is None else max_bytes
    seconds = policy.deadline_seconds if deadline is None else deadline
    # Identity only: a compressed body could inflate far past the cap inside one chunk.
    sent = {"Accept-Encoding": "identity", **(headers or {})}
    try:
        with anyio.fail_after(seconds):
            async with http.stream(
                method, url, headers=sent, json=json, follow_redirects=False
            ) as response:
                if response.is_redirect:
                    raise RedirectRefused(f"{url} answered {response.status_code}: not followed")
                if response.headers.get("content-encoding", "identity").lower() != "identity":
                    raise PeerError(f"{url} sent an encoded body", code="outbound_encoded_body")
                # identity encoding checked above: decoded bytes are the bytes on the wire
                body = await read_capped(response.aiter_bytes(), cap, url=url, declared=response)
                return Fetched(response.status_code, response.headers, body)
    except TimeoutError as exc:
        raise DeadlineExceeded(f"{url} took longer than {seconds:g} s") from exc
    except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
        raise PeerError(f"{url}: {exc.__class__.__name__}: {exc}") from exc


async def read_capped(
    chunks: AsyncIterator[bytes], cap: int, *, url: str, declared: httpx.Response | None = None
) -> bytes:
    """Join `chunks`, stopping with ResponseTooLarge as soon as more than `cap` bytes came."""
    if declared is not None:
        length = declared.headers.get("content-length", "")
        if length.isdigit() and int(length) > cap:
            raise ResponseTooLarge(f"{url} announces {length} bytes; the cap is {cap}")
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > cap:
            raise ResponseTooLarge(f"{url} sent more than {cap} bytes")
    return bytes(body)
