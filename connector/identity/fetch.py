"""Outbound fetches for identity: DID documents and status lists, nothing else.

The URLs come from peers (a token's issuer) or from credentials, so every fetch goes through
the outbound policy (connector/outbound: https outside dev mode, addresses checked after
resolution and pinned, no user info, no redirects, one deadline, a size cap), plus what
identity documents need on top: status 200 and a content-type check (audit-and-security
§2.4). Failures become `IdentityError` here.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import Literal

import httpx

from connector.errors import PeerError
from connector.identity.errors import IdentityError
from connector.outbound import OutboundPolicy, OutboundRefused, fetch

__all__ = ["LOOPBACK_HOSTS", "HostKind", "classify_host", "fetch_bounded"]

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


async def fetch_bounded(
    http: httpx.AsyncClient,
    policy: OutboundPolicy,
    url: str,
    *,
    accept: str,
    media_types: frozenset[str],
    max_bytes: int,
    timeout: float,
    code: str,
) -> bytes:
    """GET `url` under the outbound policy and return the body, or raise IdentityError.

    `timeout` is the deadline of the whole fetch, not of each read; redirects are refused. A
    refused address keeps its own code, `outbound_address_refused`; every other failure is
    `code`.
    """
    try:
        fetched = await fetch(
            http,
            policy,
            "GET",
            url,
            headers={"Accept": accept},
            max_bytes=max_bytes,
            deadline=timeout,
            what="the identity document",
        )
    except OutboundRefused as exc:
        raise IdentityError(str(exc), code=exc.code) from exc
    except PeerError as exc:
        raise IdentityError(f"fetching {url} failed: {exc}", code=code) from exc
    if fetched.status != 200:
        raise IdentityError(f"{url} answered HTTP {fetched.status}", code=code)
    if fetched.media_type not in media_types:
        raise IdentityError(f"{url} sent content type {fetched.media_type!r}", code=code)
    return fetched.body
