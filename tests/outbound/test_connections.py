"""Connections under the policy, against servers on 127.0.0.1 only: refused addresses are
refused before any connection is attempted, the checked address is the one dialled (a second,
different DNS answer is never used), and every fetch ends at its deadline and its size cap."""

from __future__ import annotations

import asyncio

import anyio
import pytest

from connector.errors import PeerError
from connector.outbound import (
    DeadlineExceeded,
    OutboundPolicy,
    OutboundRefused,
    PeerSession,
    RedirectRefused,
    ResponseTooLarge,
    fetch,
    pinned_client,
)
from tests.outbound.support import (
    NeverDial,
    RecordingDial,
    ScriptedResolver,
    flood,
    never_socket,
    raw_server,
    respond,
    trickle,
)

pytestmark = pytest.mark.anyio

TRAPS = {
    "metadata.test": ["169.254.169.254"],
    "imds6.test": ["fd00:ec2::254"],
    "private.test": ["10.0.0.7"],
    "linklocal.test": ["169.254.10.10"],
    "mapped.test": ["::ffff:192.168.1.1"],
    "multicast.test": ["239.1.2.3"],
    "loopback.test": ["127.0.0.1"],
}


@pytest.mark.parametrize("host", sorted(TRAPS))
async def test_httpx_refuses_before_dialling(host: str) -> None:
    dial = NeverDial()
    policy = OutboundPolicy(dev_mode=False, resolver=ScriptedResolver(TRAPS))
    async with pinned_client(policy, dial=dial) as http:
        with pytest.raises(OutboundRefused) as caught:
            await fetch(http, policy, "GET", f"https://{host}/latest/meta-data")
    assert caught.value.code == "outbound_address_refused"
    assert dial.dialled == []


@pytest.mark.parametrize("host", sorted(set(TRAPS) - {"loopback.test"}))
async def test_aiohttp_refuses_before_opening_a_socket(host: str) -> None:
    policy = OutboundPolicy(dev_mode=True, resolver=ScriptedResolver(TRAPS))
    peers = PeerSession(policy, socket_factory=never_socket)
    try:
        with pytest.raises(OutboundRefused):
            async with peers.session().post(f"http://{host}:8080/cb", data=b"{}"):
                pass
    finally:
        await peers.aclose()


async def test_httpx_dials_the_checked_address_and_never_resolves_again() -> None:
    # First answer loopback (allowed in dev mode), every later answer the metadata address:
    # a rebinding name. The connection uses the first, checked answer. (`localhost`, because
    # dev mode allows plain http only to loopback hosts and this server speaks no TLS.)
    resolver = ScriptedResolver({"localhost": [["127.0.0.1"], ["169.254.169.254"]]})
    policy = OutboundPolicy(dev_mode=True, resolver=resolver)
    dial = RecordingDial()
    async with raw_server(respond(body=b'{"ok": true}')) as (port, heads):
        async with pinned_client(policy, dial=dial) as http:
            fetched = await fetch(http, policy, "GET", f"http://localhost:{port}/catalog")
        assert fetched.status == 200 and fetched.body == b'{"ok": true}'
        assert dial.dialled == ["127.0.0.1"]
        assert resolver.calls == ["localhost"]  # one resolution for the connection
        assert f"host: localhost:{port}".encode() in heads[0].lower()  # the name is kept
        # A new connection resolves afresh, checks the new answer, and refuses it.
        async with pinned_client(policy, dial=NeverDial()) as http:
            with pytest.raises(OutboundRefused, match="metadata"):
                await fetch(http, policy, "GET", f"http://localhost:{port}/catalog")


async def test_aiohttp_dials_the_checked_address() -> None:
    resolver = ScriptedResolver({"partner.test": [["127.0.0.1"], ["10.0.0.1"]]})
    # aiohttp is driven directly here (no check_url), so a plain-http name reaches the resolver
    policy = OutboundPolicy(dev_mode=True, resolver=resolver)
    peers = PeerSession(policy)
    try:
        async with raw_server(respond(body=b"ok")) as (port, heads):
            async with peers.session().post(f"http://partner.test:{port}/cb", data=b"{}") as r:
                assert r.status == 200 and await r.read() == b"ok"
            assert resolver.calls == ["partner.test"]
            assert f"host: partner.test:{port}".encode() in heads[0].lower()
    finally:
        await peers.aclose()


async def test_a_trickling_server_is_cut_at_the_deadline() -> None:
    policy = OutboundPolicy(dev_mode=True)
    async with raw_server(trickle) as (port, _heads), pinned_client(policy) as http:
        # The trickle never ends: without a total deadline this fetch would not return (the
        # guard turns that into a failure instead of a hung test).
        with anyio.fail_after(20), pytest.raises(DeadlineExceeded) as caught:
            await fetch(http, policy, "GET", f"http://127.0.0.1:{port}/did.json", deadline=0.5)
    assert caught.value.code == "outbound_deadline_exceeded"


async def test_reading_stops_at_the_cap() -> None:
    policy = OutboundPolicy(dev_mode=True, max_response_bytes=256 * 1024)
    async with raw_server(flood(8 * 1024 * 1024)) as (port, _), pinned_client(policy) as http:
        with pytest.raises(ResponseTooLarge):
            await fetch(http, policy, "GET", f"http://127.0.0.1:{port}/catalog")
        # a caller may ask for a tighter cap than the policy's
        with pytest.raises(ResponseTooLarge):
            await fetch(http, policy, "GET", f"http://127.0.0.1:{port}/x", max_bytes=1000)


async def test_an_announced_oversized_body_is_refused_unread() -> None:
    policy = OutboundPolicy(dev_mode=True, max_response_bytes=1000)
    async with raw_server(respond(body=b"x" * 5000)) as (port, _), pinned_client(policy) as http:
        with pytest.raises(ResponseTooLarge, match="announces"):
            await fetch(http, policy, "GET", f"http://127.0.0.1:{port}/")


async def test_redirects_are_refused_not_followed() -> None:
    policy = OutboundPolicy(dev_mode=True)
    redirect = respond(302, b"", ["Location: http://169.254.169.254/latest"])
    async with raw_server(redirect) as (port, heads), pinned_client(policy) as http:
        http.follow_redirects = True  # even a client set to follow them
        with pytest.raises(RedirectRefused):
            await fetch(http, policy, "GET", f"http://127.0.0.1:{port}/catalog")
    assert len(heads) == 1


async def test_a_dead_port_is_a_retryable_peer_error() -> None:
    policy = OutboundPolicy(dev_mode=True)
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    async with pinned_client(policy) as http:
        with pytest.raises(PeerError) as caught:
            await fetch(http, policy, "GET", f"http://127.0.0.1:{port}/")
    assert not isinstance(caught.value, OutboundRefused)


async def test_the_aiohttp_session_ignores_proxies_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    policy = OutboundPolicy(dev_mode=True)
    peers = PeerSession(policy)
    try:
        async with raw_server(respond(body=b"direct")) as (port, _):
            async with peers.session().get(f"http://127.0.0.1:{port}/") as response:
                assert await response.read() == b"direct"
    finally:
        await peers.aclose()
    async with raw_server(respond(body=b"direct")) as (port, _), pinned_client(policy) as http:
        fetched = await fetch(http, policy, "GET", f"http://127.0.0.1:{port}/")
        assert fetched.body == b"direct"
