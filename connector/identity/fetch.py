"""Outbound fetches for identity: DID documents and status lists, nothing else.

The URLs come from peers (a token's issuer) or from credentials, so every fetch is treated as
untrusted: https only (plain http solely for loopback hosts in dev mode), no IP literals except
loopback in dev mode, no user info, no redirects, a body cap, a content-type check and a short
timeout (audit-and-security §2.4). httpx errors are wrapped here into `IdentityError`.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import Literal

import httpx

from connector.identity.errors import IdentityError

__all__ = ["LOOPBACK_HOSTS", "HostKind", "check_url", "classify_host", "fetch_bounded"]

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")

HostKind = Literal["name", "loopback", "ip", "invalid"]


def classify_host(host: str) -> HostKind:
    """Sort a host into: a DNS name, a canonical loopback host, another IP literal, or junk.

    Only `localhost`, `127.0.0.1` and `::1` count as loopback. Odd numeric spellings that
    resolvers still accept (`127.1`, `2130706433`, `0x7f000001`) are IP literals, and
    `*.localhost` or a trailing dot are not accepted as names.
    """
    if host in LOOPBACK_HOSTS:
        return "loopback"
    try:
        ipaddress.ip_address(host)
        return "ip"
    except ValueError:
        pass
    try:
        socket.inet_aton(host)
        return "ip"
    except OSError:
        pass
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        return "invalid"
    if labels[-1].isdigit() or labels[-1] == "localhost":
        return "invalid"
    return "name"


def check_url(url: str, *, dev_mode: bool, code: str) -> httpx.URL:
    """Parse `url` and apply the fetch policy; raise IdentityError(code) if it fails."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise IdentityError(f"invalid URL {url!r}: {exc}", code=code) from exc
    if parsed.userinfo:
        raise IdentityError(f"URL {url!r} carries user info", code=code)
    kind = classify_host(parsed.host)
    if parsed.scheme == "https":
        allowed = kind == "name" or (kind == "loopback" and dev_mode)
    elif parsed.scheme == "http":
        allowed = kind == "loopback" and dev_mode
    else:
        allowed = False
    if not allowed:
        hint = " (plain http and loopback hosts need dev mode)" if kind == "loopback" else ""
        raise IdentityError(f"refusing to fetch {url!r}{hint}", code=code)
    return parsed


async def fetch_bounded(
    http: httpx.AsyncClient,
    url: httpx.URL,
    *,
    accept: str,
    media_types: frozenset[str],
    max_bytes: int,
    timeout: float,
    code: str,
) -> bytes:
    """GET `url` and return the body, or raise IdentityError(code). Redirects are not followed."""
    try:
        async with http.stream(
            "GET",
            url,
            # Identity encoding only: a compressed body could inflate far past the cap inside
            # a single decoded chunk, before the size check below ever runs.
            headers={"Accept": accept, "Accept-Encoding": "identity"},
            follow_redirects=False,
            timeout=timeout,
        ) as response:
            if response.status_code != 200:
                raise IdentityError(f"{url} answered HTTP {response.status_code}", code=code)
            media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if media_type not in media_types:
                raise IdentityError(f"{url} sent content type {media_type!r}", code=code)
            if response.headers.get("content-encoding", "identity").lower() != "identity":
                raise IdentityError(f"{url} sent an encoded body", code=code)
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise IdentityError(f"{url} body exceeds {max_bytes} bytes", code=code)
            body = bytearray()
            # With the encoding checked to be identity, decoded bytes are the bytes on the wire.
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise IdentityError(f"{url} body exceeds {max_bytes} bytes", code=code)
            return bytes(body)
    except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
        raise IdentityError(f"fetching {url} failed: {exc.__class__.__name__}", code=code) from exc
