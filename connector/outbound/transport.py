"""Connections that go only where the policy allowed: the checked address is the one dialled.

A name is resolved exactly once per connection, by the policy, and the connection is made to
one of the addresses that were checked; the client library never resolves it again, so a
DNS answer that changes between the check and the connect (rebinding) cannot redirect it.
The URL keeps its name, so the Host header and the TLS server name (SNI, certificate check)
are still the name's.

* httpx (fetches whose answer we read): `pinned_transport` — an httpcore connection pool
  whose network backend dials the checked address;
* aiohttp (DSP messages, push uploads, pull reads): `peer_session` — a session whose
  resolver is the policy; aiohttp skips resolvers for IP literals, which `check_url` has
  judged before any request is made.

Neither follows proxies from the environment: a proxy would resolve the name itself.
"""

from __future__ import annotations

import functools
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import aiohttp
import httpcore
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult

from connector.errors import PeerError
from connector.outbound.policy import OutboundPolicy

SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, dialling only addresses the policy checked."""

    def __init__(
        self, policy: OutboundPolicy, dial: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self.policy = policy
        self.dial = dial or httpcore.AnyIOBackend()  # what actually opens sockets

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self.policy.addresses(host, port)
        last: Exception | None = None
        for address in addresses:  # in the resolver's order, like a plain client
            try:
                return await self.dial.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None  # `addresses` is never empty
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not an outbound address")

    async def sleep(self, seconds: float) -> None:
        await self.dial.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport with its connection pool swapped for one on `PinnedBackend`.

    httpx offers no public way to pass a network backend; its transport keeps the pool in
    `_pool`, which is all `handle_async_request` uses. tests/outbound checks that requests
    really go through the backend, so an httpx release that changes this fails there.
    """

    def __init__(
        self,
        policy: OutboundPolicy,
        *,
        dial: httpcore.AsyncNetworkBackend | None = None,
        verify: ssl.SSLContext | bool = True,
        limits: httpx.Limits | None = None,
    ) -> None:
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        context = (
            system_trust() if verify is True else httpx.create_ssl_context(verify, trust_env=False)
        )
        super().__init__(verify=context, trust_env=False, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(policy, dial),
        )


@functools.cache
def system_trust() -> ssl.SSLContext:
    """The system's CA certificates, loaded once: every client built its own context, and
    loading the bundle takes ~30 ms (several clients per connector). A context may serve many
    connections at once."""
    return httpx.create_ssl_context(trust_env=False)


def pinned_client(
    policy: OutboundPolicy,
    *,
    dial: httpcore.AsyncNetworkBackend | None = None,
    timeout: httpx.Timeout | None = None,
) -> httpx.AsyncClient:
    """An httpx client for requests on a peer's word: pinned, no redirects, no proxies."""
    return httpx.AsyncClient(
        transport=PinnedTransport(policy, dial=dial),
        timeout=timeout or httpx.Timeout(10.0, connect=5.0),
        follow_redirects=False,
        trust_env=False,
    )


class PinnedResolver(AbstractResolver):
    """aiohttp's resolver hook, answering with the policy's checked addresses only."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self.policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        del family  # every checked address is offered, IPv4 and IPv6
        return [
            ResolveResult(
                hostname=host,
                host=str(address),
                port=port,
                family=socket.AF_INET if address.version == 4 else socket.AF_INET6,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in await self.policy.addresses(host, port)
        ]

    async def close(self) -> None:
        return None


class PeerSession:
    """One aiohttp session for requests on a peer's word, made in the running loop on first
    use. `socket_factory` is for tests that must prove no socket was opened."""

    def __init__(
        self,
        policy: OutboundPolicy,
        *,
        limit: int = 256,
        socket_factory: Any = None,
        keep_cookies: bool = True,
        **session_options: Any,
    ) -> None:
        self.policy = policy
        self._limit = limit
        self._socket_factory = socket_factory
        self._options = session_options
        self._keep_cookies = keep_cookies  # a cookie jar needs the running loop: made with it
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    def _cookies(self) -> dict[str, Any]:
        return {} if self._keep_cookies else {"cookie_jar": aiohttp.DummyCookieJar()}

    def session(self) -> aiohttp.ClientSession:
        if self._closed:
            # A task still running at shutdown would otherwise open a session nobody closes.
            raise PeerError("the connector is shutting down", code="shutting_down")
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self._limit,
                    resolver=PinnedResolver(self.policy),
                    use_dns_cache=False,  # every connection checks afresh
                    socket_factory=self._socket_factory,
                ),
                trust_env=False,
                **self._options,
                **self._cookies(),
            )
        return self._session

    async def aclose(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None
