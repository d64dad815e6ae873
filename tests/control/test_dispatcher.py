"""Sending DSP messages: what a peer's answer means for the runner (retry, give up, ACK)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from connector.control.catalog import fetch_catalog
from connector.control.dispatcher import MAX_ACK_BYTES, Dispatcher, PeerRejected
from connector.errors import PeerError
from connector.outbound import OutboundPolicy, OutboundRefused, ResponseTooLarge, pinned_client
from connector.serving import free_port
from tests.outbound.support import raw_server

pytestmark = pytest.mark.anyio
DEV = OutboundPolicy(dev_mode=True)  # the peers below are on loopback


@pytest.fixture
async def peer() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        seen.append(
            {
                "path": request.path,
                "auth": request.headers.get("Authorization"),
                "type": request.headers.get("Content-Type"),
                "body": await request.json(),
            }
        )
        kind = request.match_info["kind"]
        if kind == "ack":
            return web.json_response({"providerPid": "urn:uuid:p1"}, status=201)
        if kind == "empty":
            return web.Response(status=200)
        if kind == "busy":
            return web.Response(status=503)
        if kind == "bad":
            return web.json_response({"code": "invalid"}, status=400)
        if kind == "huge":
            return web.Response(body=b"x" * (MAX_ACK_BYTES + 1), status=200)
        raise web.HTTPFound("/elsewhere")

    app = web.Application()
    app.router.add_post("/{kind}", handle)
    server = TestServer(app, host="127.0.0.1", port=free_port())
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/"), seen
    finally:
        await server.close()


async def test_a_message_goes_out_signed_and_its_ack_comes_back(
    peer: tuple[str, list[dict[str, Any]]],
) -> None:
    base, seen = peer
    async with httpx.AsyncClient() as http:
        dispatcher = Dispatcher(http, lambda audience: f"token-for-{audience}", policy=DEV)
        try:
            ack = await dispatcher.send(base + "/ack", {"@type": "X"}, audience="did:web:p")
            assert ack == {"providerPid": "urn:uuid:p1"}
            assert await dispatcher.send(base + "/empty", {}, audience="did:web:p") is None
        finally:
            await dispatcher.aclose()
    assert seen[0] == {
        "path": "/ack",
        "auth": "Bearer token-for-did:web:p",
        "type": "application/json",
        "body": {"@type": "X"},
    }


@pytest.mark.parametrize(
    ("kind", "error", "code"),
    [
        ("busy", PeerError, "peer_unavailable"),  # retried with backoff
        ("bad", PeerRejected, "peer_rejected"),  # sending again will not help
        ("huge", PeerRejected, "peer_rejected"),  # no peer needs 256 KiB to acknowledge
        ("moved", PeerRejected, "peer_rejected"),  # redirects are not followed
    ],
)
async def test_what_a_peer_answers_decides_retry_or_give_up(
    peer: tuple[str, list[dict[str, Any]]], kind: str, error: type[Exception], code: str
) -> None:
    base, _seen = peer
    async with httpx.AsyncClient() as http:
        dispatcher = Dispatcher(http, lambda _audience: "t", policy=DEV)
        try:
            with pytest.raises(error) as caught:
                await dispatcher.send(f"{base}/{kind}", {}, audience="did:web:p")
        finally:
            await dispatcher.aclose()
    assert type(caught.value) is error and caught.value.code == code


async def test_an_unreachable_peer_is_a_retryable_error() -> None:
    async with httpx.AsyncClient() as http:
        dispatcher = Dispatcher(http, lambda _audience: "t", policy=DEV, timeout=2.0)
        try:
            with pytest.raises(PeerError) as caught:
                await dispatcher.send(f"http://127.0.0.1:{free_port()}/x", {}, audience="did:web:p")
        finally:
            await dispatcher.aclose()
    assert not isinstance(caught.value, PeerRejected)


# -- answers we read (catalogues, datasets): capped, under the policy (issue 15, defect 4) -------


async def test_an_oversized_catalogue_is_refused_at_the_cap() -> None:
    # valid JSON, 8 MiB: read whole, it would parse (and hold 8 MiB and more in memory)
    body = b'{"@type": "Catalog", "padding": "' + b"x" * (8 * 1024 * 1024) + b'"}'

    async def handler(_head: bytes, writer: Any) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
        writer.write(b"Transfer-Encoding: chunked\r\n\r\n")
        for start in range(0, len(body), 65536):
            chunk = body[start : start + 65536]
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
        writer.write(b"0\r\n\r\n")

    policy = OutboundPolicy(dev_mode=True, max_response_bytes=1024 * 1024)
    async with raw_server(handler) as (port, _), pinned_client(policy) as http:
        dispatcher = Dispatcher(http, lambda _audience: "t", policy=policy)
        with pytest.raises(ResponseTooLarge):
            await fetch_catalog(
                dispatcher, provider_did="did:web:x", dsp_base=f"http://127.0.0.1:{port}/dsp"
            )
        await dispatcher.aclose()


async def test_a_forbidden_peer_address_is_refused_before_sending() -> None:
    async with httpx.AsyncClient() as http:
        dispatcher = Dispatcher(http, lambda _audience: "t", policy=OutboundPolicy())
        with pytest.raises(OutboundRefused):
            await dispatcher.send("https://169.254.169.254/latest", {}, audience="did:web:x")
        with pytest.raises(OutboundRefused):
            await dispatcher.get_json("http://127.0.0.1:1/catalog", audience="did:web:x")
        await dispatcher.aclose()
