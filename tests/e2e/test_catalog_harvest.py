"""Harvesting the data space's catalogues: the authority's participant list, incremental
updates, search over the index, and peers that are slow, silent, huge or wrong."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from connector.api.client import ManagementError
from connector.demo.localspace import LocalDataspace
from connector.serving import BackgroundServer, free_port
from tests.e2e.catalog_support import described

pytestmark = pytest.mark.anyio
DSP = "https://w3id.org/dspace/2025/1/context.jsonld"


async def _harvest(space: LocalDataspace, **body: Any) -> dict[str, dict[str, Any]]:
    result = await space["consumer"].client.call("POST", "/catalog/harvest", json=body)
    return {p["did"]: p for p in result["peers"]}


async def _search(space: LocalDataspace, **params: Any) -> dict[str, Any]:
    result: dict[str, Any] = await space["consumer"].client.call(
        "GET", "/catalog/search", params=params
    )
    return result


async def test_authority_lists_participants_signed(space: LocalDataspace) -> None:
    assert space.authority is not None
    from connector.identity.participants import verify_participants

    token = space.authority.participant_list(space.clock())
    listed = await verify_participants(
        token,
        authority=space.authority.did,
        resolver=space["consumer"].connector.resolver,
        now=space.clock(),
    )
    assert {p.did for p in listed} == {space["provider"].did, space["consumer"].did}
    provider = next(p for p in listed if p.did == space["provider"].did)
    assert provider.name == "A市" and provider.roles == ("municipality",)
    assert provider.address == space["provider"].settings.dsp_base
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(Exception) as caught:
        await verify_participants(
            tampered,
            authority=space.authority.did,
            resolver=space["consumer"].connector.resolver,
            now=space.clock(),
        )
    assert getattr(caught.value, "code", "") == "token_bad_signature"


async def test_harvest_from_the_participant_list_and_search(space: LocalDataspace) -> None:
    provider = space["provider"]
    await described(provider, "urn:a:water-level")
    await described(
        provider,
        "urn:a:rainfall",
        title="上流雨量",
        title_en="Upstream rainfall",
        keyword="雨量",
        keyword_en="rainfall",
        theme="rainfall",
    )
    outcomes = await _harvest(space)  # no peers named: the authority's list, without ourselves
    assert set(outcomes) == {provider.did}
    assert outcomes[provider.did]["ok"] and outcomes[provider.did]["changed"] == 2

    short = await _search(space, q="水位")  # two characters: no trigram, still found
    assert [h["dataset"] for h in short["hits"]] == ["urn:a:water-level"]
    longer = await _search(space, q="河川水位")
    assert [h["dataset"] for h in longer["hits"]] == ["urn:a:water-level"]
    english = await _search(space, q="RAINFALL")
    assert [h["dataset"] for h in english["hits"]] == ["urn:a:rainfall"]
    hit = short["hits"][0]
    assert hit["provider"] == provider.did
    assert hit["provider_address"] == provider.settings.dsp_base
    # a hit shows the themes and places the owner publishes, as published
    assert hit["themes"] == ["https://w3id.org/tsunagu/vocab/theme/river-water-level"]
    assert hit["places"] == [
        "http://data.e-stat.go.jp/lod/sac/C20215",
        "https://w3id.org/tsunagu/vocab/basin/tsunagu-river",
    ]

    flood = await _search(space, theme="flood")  # narrower: river-water-level and rainfall
    assert {h["dataset"] for h in flood["hits"]} == {"urn:a:water-level", "urn:a:rainfall"}
    near = await _search(space, near="204323")  # C村: A市 lies upstream
    assert near["total"] == 2
    nowhere = await _search(space, place="204501")
    assert nowhere["total"] == 0
    by_period = await _search(space, to="2020-01-01")
    assert by_period["total"] == 0
    with pytest.raises(ManagementError) as caught:
        await _search(space, theme="no-such-theme")
    assert caught.value.code == "unknown_theme"


async def test_harvest_is_incremental(space: LocalDataspace) -> None:
    provider = space["provider"]
    await described(provider, "urn:a:one")
    await described(provider, "urn:a:two")
    first = (await _harvest(space))[provider.did]
    assert (first["changed"], first["unchanged"]) == (2, 0)
    again = (await _harvest(space))[provider.did]
    assert (again["changed"], again["unchanged"], again["removed"]) == (0, 2, 0)
    await described(provider, "urn:a:three")
    third = (await _harvest(space))[provider.did]
    assert (third["changed"], third["unchanged"]) == (1, 2)
    peers = await space["consumer"].client.call("GET", "/catalog/peers")
    assert peers[0]["entries"] == 3 and peers[0]["last_seen_at"] is not None


async def test_restricted_entries_are_harvested_only_by_members(space: LocalDataspace) -> None:
    provider = space["provider"]
    await space.add(
        "outsider", "D町", municipality_code="204501", memberships=["urn:tsunagu:council:other"]
    )
    await described(provider, "urn:a:public")
    await described(provider, "urn:a:council-only", audience=["urn:tsunagu:council:test-basin"])
    await _harvest(space)
    assert (await _search(space, q="水位"))["total"] == 2
    result = await space["outsider"].client.call(
        "POST", "/catalog/harvest", json={"peers": [{"did": provider.did}]}
    )
    assert result["peers"][0]["ok"]
    hits = await space["outsider"].client.call("GET", "/catalog/search", params={"q": "水位"})
    assert [h["dataset"] for h in hits["hits"]] == ["urn:a:public"]


# -- bad peers ---------------------------------------------------------------------------------


def _bad_peer_app(kind: str, did: str, release: asyncio.Event) -> Starlette:
    async def catalog_request(_request: Request) -> Response:
        if kind == "silent":
            await release.wait()  # never answers within the test's deadline
            return Response(b"", status_code=500)
        if kind == "huge":

            async def chunks() -> AsyncIterator[bytes]:
                yield b'{"@context": ["' + DSP.encode() + b'"], "@type": "Catalog", "x": "'
                for _ in range(4096):  # 4 MiB, past the 1 MiB budget
                    yield b"a" * 1024
                yield b'"}'

            return StreamingResponse(chunks(), media_type="application/json")
        if kind == "malformed":
            return Response(b'{"@type": "Catalog", ', media_type="application/json")
        if kind == "invalid":  # JSON, but not a DSP catalogue (no @id, no participantId)
            return Response(
                json.dumps({"@context": [DSP], "@type": "Catalog"}), media_type="application/json"
            )
        if kind == "flaky":
            # first call fails, the retry succeeds
            if not getattr(app.state, "failed", False):
                app.state.failed = True
                return Response(b"busy", status_code=503)
            body = {
                "@context": [DSP],
                "@id": did + "#catalog",
                "@type": "Catalog",
                "participantId": did,
            }
            return Response(json.dumps(body), media_type="application/json")
        raise AssertionError(kind)

    app = Starlette(
        routes=[Route("/dsp/2025-1/catalog/request", catalog_request, methods=["POST"])]
    )
    return app


async def test_bad_peers_do_not_block_the_others_and_keep_last_good_copy(
    space: LocalDataspace,
) -> None:
    provider = space["provider"]
    await described(provider, "urn:a:water-level")
    release = asyncio.Event()
    servers = []
    peers = [{"did": provider.did}]
    kinds = ("silent", "huge", "malformed", "invalid", "flaky")
    dids = {}
    try:
        for kind in kinds:
            port = free_port()
            did = f"did:web:localhost%3A{port}"
            server = BackgroundServer(
                _bad_peer_app(kind, did, release), host="127.0.0.1", port=port
            )
            await server.start()
            servers.append(server)
            dids[kind] = did
            peers.append({"did": did, "address": f"http://127.0.0.1:{port}/dsp/2025-1"})
        outcomes = await _harvest(
            space, peers=peers, deadline=2.0, max_bytes=1024 * 1024, attempts=2, backoff=0.05
        )
        assert outcomes[provider.did]["ok"] and outcomes[provider.did]["changed"] == 1
        assert outcomes[dids["silent"]]["failure_code"] == "harvest_deadline"
        assert outcomes[dids["huge"]]["failure_code"] == "catalog_too_large"
        assert outcomes[dids["malformed"]]["failure_code"] == "invalid_catalog"
        assert outcomes[dids["invalid"]]["failure_code"] == "invalid_catalog"
        assert outcomes[dids["flaky"]]["ok"]  # retried after its 503
        # the good peer was not held up by the silent one's whole deadline
        assert outcomes[provider.did]["seconds"] < outcomes[dids["silent"]]["seconds"]
        peers_seen = {
            p["did"]: p for p in await space["consumer"].client.call("GET", "/catalog/peers")
        }
        assert peers_seen[dids["huge"]]["failure"]
        assert peers_seen[dids["huge"]]["last_seen_at"] is None
    finally:
        release.set()
        for server in servers:
            await server.stop()
    # the provider goes silent too: its last good copy stays searchable, the failure recorded
    await space.stop("provider")
    outcomes = await _harvest(
        space,
        peers=[{"did": provider.did, "address": provider.settings.dsp_base}],
        deadline=2.0,
        attempts=1,
    )
    assert not outcomes[provider.did]["ok"]
    assert (await _search(space, q="水位"))["total"] == 1
    peers_seen = {p["did"]: p for p in await space["consumer"].client.call("GET", "/catalog/peers")}
    assert peers_seen[provider.did]["failure_code"] and peers_seen[provider.did]["last_seen_at"]


async def test_sparql_is_read_only_and_answers(space: LocalDataspace) -> None:
    await described(space["provider"], "urn:a:water-level")
    await _harvest(space)
    client = space["consumer"].client
    result = await client.call(
        "GET",
        "/catalog/sparql",
        params={
            "query": "PREFIX dct: <http://purl.org/dc/terms/> "
            "SELECT ?d ?t WHERE { ?d dct:title ?t FILTER(lang(?t) = 'ja') }"
        },
    )
    assert result["rows"] == [{"d": "urn:a:water-level", "t": "上流橋河川水位"}]
    with pytest.raises(ManagementError) as caught:
        await client.call("GET", "/catalog/sparql", params={"query": "DELETE WHERE { ?s ?p ?o }"})
    assert caught.value.code == "invalid_sparql"
    with pytest.raises(ManagementError) as caught:
        await client.call(
            "GET", "/catalog/sparql", params={"query": "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"}
        )
    assert caught.value.code == "sparql_read_only"


async def _entries_reach(client: Any, did: str, wanted: int, *, within: float = 20.0) -> None:
    """Wait (bounded) until the background refresh holds `wanted` entries of `did`."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        peers = {p["did"]: p for p in await client.call("GET", "/catalog/peers")}
        if did in peers and peers[did]["entries"] == wanted:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no refresh to {wanted} entries of {did}: {peers}")
        await asyncio.sleep(0.05)


async def test_configured_peers_are_refreshed_in_the_background(space: LocalDataspace) -> None:
    import dataclasses

    from connector.settings import load_settings, write_settings

    provider = space["provider"]
    await described(provider, "urn:a:one")
    settings = await space.stop("consumer")
    write_settings(
        dataclasses.replace(
            settings,
            trusted_authorities=(),  # only the configured peer
            catalog_peers=(f"{provider.did}={provider.settings.dsp_base}",),
            catalog_harvest_seconds=0.2,
        )
    )
    reloaded = load_settings(settings.directory)  # the config file round-trips
    assert reloaded.catalog_peers == (f"{provider.did}={provider.settings.dsp_base}",)
    assert reloaded.catalog_harvest_seconds == 0.2
    consumer = await space.serve("consumer", reloaded)
    await _entries_reach(consumer.client, provider.did, 1)
    await described(provider, "urn:a:two")
    await _entries_reach(consumer.client, provider.did, 2)


class _Relay:
    """A loopback TCP relay to a peer that drops the first `drops` connections it accepts
    (closed before any byte is read), as a peer restarting or behind a flapping link does."""

    def __init__(self, target_port: int, drops: int) -> None:
        self.target_port = target_port
        self.drops = drops
        self.accepted = 0
        self.server: asyncio.Server | None = None
        self.open: list[asyncio.StreamWriter] = []

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    def drop_all(self) -> None:
        """From now on drop every connection, the pooled ones too."""
        self.drops = 1 << 30
        for writer in self.open:
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self.accepted <= self.drops:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self.open += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while chunk := await src.read(65536):
                    dst.write(chunk)
                    await dst.drain()
            except ConnectionError:
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def test_connection_errors_are_retried_with_backoff(space: LocalDataspace) -> None:
    provider = space["provider"]
    await described(provider, "urn:a:water-level")
    port = int(provider.settings.dsp_base.split(":")[2].split("/")[0])
    path = provider.settings.dsp_base.split(str(port), 1)[1]
    relay = _Relay(port, drops=2)
    address = f"http://127.0.0.1:{await relay.start()}{path}"
    try:
        # two dropped connections, then an answer: the third attempt succeeds
        outcomes = await _harvest(
            space,
            peers=[{"did": provider.did, "address": address}],
            deadline=10.0,
            attempts=3,
            backoff=0.05,
        )
        assert outcomes[provider.did]["ok"], outcomes
        assert outcomes[provider.did]["changed"] == 1
        assert relay.accepted >= 3
        # a peer that drops every connection: bounded attempts, then failed, last copy kept
        relay.drop_all()
        before = relay.accepted
        outcomes = await _harvest(
            space,
            peers=[{"did": provider.did, "address": address}],
            deadline=10.0,
            attempts=3,
            backoff=0.05,
        )
    finally:
        await relay.stop()
    assert not outcomes[provider.did]["ok"]
    assert outcomes[provider.did]["failure_code"] == "peer_unreachable"
    assert relay.accepted - before == 3  # exactly the attempts allowed, no more
    assert (await _search(space, q="水位"))["total"] == 1
    peers_seen = {p["did"]: p for p in await space["consumer"].client.call("GET", "/catalog/peers")}
    assert peers_seen[provider.did]["failure_code"] == "peer_unreachable"
    assert peers_seen[provider.did]["last_seen_at"]
