"""Catalogue: serving 10,000 datasets, searching 100,000 harvested ones, harvest throughput.

One run prints, each beside a baseline measured in the same run:

* serving: a connector with N datasets (each with a DCAT description and an offer) answers
  the first DSP catalogue page (100 datasets) and a single dataset GET, p95 over R requests
  from a peer with a fresh token each; the baseline is a bare endpoint on loopback that returns
  the same bytes from memory (targets: first page p95 < 50 ms);
* harvest: P simulated participants on loopback (one server, one catalogue of D datasets per
  participant, bytes prepared in memory) harvested by the connector; datasets/s (target
  >= 2,000/s) beside the baseline of fetching and JSON-parsing the same pages;
* search: text + theme + place queries over the harvested index through the management API,
  p95 (target < 20 ms) beside the bare endpoint returning the same answer bytes.

    python benchmarks/catalog.py [--datasets 10000] [--peers 100] [--per-peer 1000] [--quick]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python benchmarks/catalog.py`, this file's folder comes first on the path and its
# name would hide the `catalog` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

import argparse
import asyncio
import copy
import json
import statistics
import tempfile
import time
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from catalog.dsp import dataset_to_json
from catalog.model import Agent, ContactPoint, Dataset, Distribution, PeriodOfTime
from connector.control.harvest import Bounds, Harvester, PeerSource
from connector.demo.localspace import LocalDataspace
from connector.serving import BackgroundServer, free_port
from connector.store.catalog_tables import CatalogEntryRow
from connector.store.tables import DatasetRow, OfferRow
from policies.odrl import parse_policy

DSP = "https://w3id.org/dspace/2025/1/context.jsonld"
THEME = "https://w3id.org/tsunagu/vocab/theme/"
SAC = "http://data.e-stat.go.jp/lod/sac/"
BASIN = "https://w3id.org/tsunagu/vocab/basin/tsunagu-river"
OFFER = {"@type": "Offer", "@id": "urn:bench:offer", "permission": [{"action": "use"}]}
PLACES = ("C20215", "C20383", "C20432", "C13101", "C27100")
THEMES = ("river-water-level", "rainfall", "shelter", "evacuation-order")


def described(i: int, did: str) -> Dataset:
    place = PLACES[i % len(PLACES)]
    theme = THEMES[i % len(THEMES)]
    return Dataset(
        id=f"urn:bench:{i}",
        title={
            "ja": f"観測所{i} 河川水位" if theme == "river-water-level" else f"観測所{i} {theme}",
            "en": f"Station {i} {theme}",
        },
        description={"ja": f"観測所{i}の10分ごとの値。", "en": f"Readings of station {i}."},
        keywords={"ja": "水位" if i % 2 else "雨量", "en": "water level"},
        themes=(THEME + theme,),
        spatial=(SAC + place, BASIN),
        temporal=PeriodOfTime(start=__import__("datetime").date(2020 + i % 6, 4, 1)),
        publisher=Agent(name={"ja": "ベンチ市", "en": "Bench City"}, id=did),
        contact_point=ContactPoint(name={"ja": "防災課"}, email="bousai@example.org"),
        offers=(parse_policy({**OFFER, "@id": f"urn:bench:offer:{i}"}),),
        distributions=(Distribution(format="HttpData-PULL", access_service=did + "#dsp"),),
    )


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18] * 1000


def p50(samples: list[float]) -> float:
    """Printed beside p95: on a shared machine the tail says more about the neighbours."""
    return statistics.median(samples) * 1000


async def timed(http: httpx.AsyncClient, make: Any, rounds: int) -> tuple[list[float], bytes]:
    samples = []
    body = b""
    for _ in range(rounds):
        method, url, kwargs = make()
        started = time.perf_counter()
        response = await http.request(method, url, **kwargs)
        body = response.content
        samples.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}: {body[:300]!r}")
    return samples, body


async def bare_server(routes: dict[str, bytes]) -> tuple[BackgroundServer, int]:
    async def serve(request: Request) -> Response:
        return Response(routes[request.url.path], media_type="application/json")

    port = free_port()
    app = Starlette(routes=[Route(p, serve, methods=["GET", "POST"]) for p in routes])
    server = BackgroundServer(app, host="127.0.0.1", port=port)
    await server.start()
    return server, port


def fill(provider: Any, count: int) -> None:
    connector = provider.connector
    now = connector.clock()
    with connector.store.transaction() as tx:
        for i in range(count):
            d = described(i, provider.did)
            tx.add(
                DatasetRow(
                    id=d.id,
                    title=f"観測所{i}",
                    data_address={"type": "HttpData", "baseUrl": "http://127.0.0.1:9/"},
                    created_at=now,
                )
            )
            tx.add(
                OfferRow(
                    id=f"urn:bench:offer:{i}",
                    dataset_id=d.id,
                    policy={**OFFER, "@id": f"urn:bench:offer:{i}"},
                    created_at=now,
                )
            )
            tx.add(
                CatalogEntryRow(
                    dataset_id=d.id, description=dataset_to_json(d, root=False), updated_at=now
                )
            )


async def serving(space: LocalDataspace, count: int, rounds: int) -> None:
    provider, consumer = space["p"], space["c"].connector
    fill(provider, count)
    base = provider.settings.dsp_base
    message = {"@context": [DSP], "@type": "CatalogRequestMessage"}

    def page() -> tuple[str, str, dict[str, Any]]:
        token = consumer.dispatcher.token_for(provider.did)
        return (
            "POST",
            f"{base}/catalog/request?limit=100",
            {"json": message, "headers": {"Authorization": f"Bearer {token}"}},
        )

    def one() -> tuple[str, str, dict[str, Any]]:
        token = consumer.dispatcher.token_for(provider.did)
        return (
            "GET",
            f"{base}/catalog/datasets/urn:bench:{count // 2}",
            {"headers": {"Authorization": f"Bearer {token}"}},
        )

    async with httpx.AsyncClient() as http:
        await timed(http, page, 3)  # warm: caches, connections
        page_s, page_body = await timed(http, page, rounds)
        one_s, one_body = await timed(http, one, rounds)
        server, port = await bare_server({"/page": page_body, "/one": one_body})
        try:
            bare = f"http://127.0.0.1:{port}"
            bare_page, _ = await timed(
                http, lambda: ("POST", bare + "/page", {"json": message}), rounds
            )
            bare_one, _ = await timed(http, lambda: ("GET", bare + "/one", {}), rounds)
        finally:
            await server.stop()
    datasets = len(json.loads(page_body)["dataset"])
    print(f"serving {count:,} datasets ({rounds} requests each, p95):")
    print(
        f"  first DSP page ({datasets} datasets, {len(page_body):,} B): {p95(page_s):6.1f} ms"
        f" (p50 {p50(page_s):5.1f})  bare {p95(bare_page):5.1f} ms"
        f"  ratio {p95(page_s) / p95(bare_page):5.1f}x"
        "  (target < 50 ms)"
    )
    print(
        f"  single dataset GET:                    {p95(one_s):6.1f} ms"
        f" (p50 {p50(one_s):5.1f})  bare {p95(bare_one):5.1f} ms"
        f"  ratio {p95(one_s) / p95(bare_one):5.1f}x"
    )


async def harvest_and_search(space: LocalDataspace, peers: int, per_peer: int, rounds: int) -> None:
    port = free_port()
    host = f"http://127.0.0.1:{port}"
    template = dataset_to_json(described(0, "did:web:bench.example"), root=False)
    bodies: dict[str, bytes] = {}
    sources = []
    for p in range(peers):
        did = f"did:web:localhost%3A{port}:p{p}"
        datasets = []
        for j in range(per_peer):
            i = p * per_peer + j
            d = copy.deepcopy(template)
            fresh = dataset_to_json(described(i, did), root=False) if j < 2 else None
            if fresh is not None:
                d = fresh
            else:
                d["@id"] = f"urn:bench:{p}:{j}"
                d["dct:title"] = [
                    {
                        "@value": f"観測所{i} 河川水位" if i % 4 == 0 else f"観測所{i} 雨量",
                        "@language": "ja",
                    },
                    {"@value": f"Station {i}", "@language": "en"},
                ]
                d["dcat:theme"] = [{"@id": THEME + THEMES[i % len(THEMES)]}]
                d["dct:spatial"] = [{"@id": SAC + PLACES[i % len(PLACES)]}, {"@id": BASIN}]
                d["hasPolicy"] = [{**d["hasPolicy"][0], "@id": f"urn:bench:offer:{p}:{j}"}]
            d["@id"] = f"urn:bench:{p}:{j}"
            datasets.append(d)
        catalog = {
            "@context": [DSP],
            "@id": did + "#catalog",
            "@type": "Catalog",
            "participantId": did,
            "dataset": datasets,
        }
        path = f"/p{p}/dsp/2025-1/catalog/request"
        bodies[path] = json.dumps(catalog, ensure_ascii=False).encode()
        sources.append(PeerSource(did, f"{host}/p{p}/dsp/2025-1", f"peer {p}"))
    app = Starlette(
        routes=[Route(path, _answer(body), methods=["POST"]) for path, body in bodies.items()]
    )
    server = BackgroundServer(app, host="127.0.0.1", port=port)
    await server.start()
    c = space["c"]
    connector = c.connector
    try:
        async with httpx.AsyncClient() as http:
            started = time.perf_counter()
            for path in bodies:
                response = await http.post(host + path, json={})
                json.loads(response.content)
            baseline = time.perf_counter() - started
        harvester = Harvester(
            connector.store,
            connector.http,
            connector.outbound,
            connector.dispatcher.token_for,
            connector.clock,
            resolver=connector.resolver,
            own_did=connector.did,
            bounds=Bounds(deadline=120, max_bytes=256 * 1024 * 1024),
        )
        started = time.perf_counter()
        outcomes = await harvester.harvest(sources)
        elapsed = time.perf_counter() - started
        failed = [o for o in outcomes if not o.ok]
        if failed:
            raise SystemExit(f"harvest failed: {failed[0]}")
        total = peers * per_peer
        started = time.perf_counter()
        again = await harvester.harvest(sources)
        unchanged = time.perf_counter() - started
        assert all(o.changed == 0 for o in again)
        print(f"harvest: {peers} participants x {per_peer:,} = {total:,} datasets")
        print(
            f"  first harvest {total / elapsed:8,.0f} datasets/s ({elapsed:.1f} s)"
            "  fetch+parse only "
            f"{total / baseline:8,.0f}/s  ratio {baseline / elapsed:.2f}  (target >= 2,000/s)"
        )
        print(f"  unchanged re-harvest {total / unchanged:8,.0f} datasets/s ({unchanged:.1f} s)")

        queries = [
            {"q": "河川水位", "theme": "flood", "near": "204323"},
            {"q": "水位", "theme": "river-water-level", "place": "202151"},
            {"q": "station", "theme": "rainfall", "near": "203831"},
        ]
        state = {"n": 0}

        def query() -> tuple[str, str, dict[str, Any]]:
            state["n"] += 1
            params = queries[state["n"] % len(queries)]
            return (
                "GET",
                c.client.base_url + "/management/catalog/search",
                {
                    "params": params,
                    "headers": {"Authorization": f"Bearer {c.settings.management_token}"},
                },
            )

        async with httpx.AsyncClient() as http:
            await timed(http, query, 3)
            search_s, body = await timed(http, query, rounds)
            bare, bare_port = await bare_server({"/s": body})
            try:
                bare_s, _ = await timed(
                    http, lambda: ("GET", f"http://127.0.0.1:{bare_port}/s", {}), rounds
                )
            finally:
                await bare.stop()
        hits = json.loads(body)["total"]
        print(
            f"search over {total:,} harvested datasets (text + theme + place,"
            f" {rounds} queries, p95):"
        )
        print(
            f"  {p95(search_s):6.1f} ms (p50 {p50(search_s):5.1f})  bare {p95(bare_s):5.1f} ms"
            f"  ratio {p95(search_s) / p95(bare_s):5.1f}x"
            f"  (last query: {hits:,} hits; target < 20 ms)"
        )
    finally:
        await server.stop()


def _answer(body: bytes) -> Any:
    async def answer(_request: Request) -> Response:
        return Response(body, media_type="application/json")

    return answer


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", type=int, default=10_000)
    parser.add_argument("--peers", type=int, default=100)
    parser.add_argument("--per-peer", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="under a minute: 20 peers, 100 rounds")
    args = parser.parse_args()
    if args.quick:
        args.peers, args.rounds = 20, 100
    with tempfile.TemporaryDirectory(prefix="tsunagu-bench-") as tmp:
        async with LocalDataspace(Path(tmp)) as space:
            await space.start_authority()
            await space.add("p", "ベンチ市", municipality_code="202151")
            await space.add("c", "C村", municipality_code="204323")
            await serving(space, args.datasets, args.rounds)
            await harvest_and_search(space, args.peers, args.per_peer, args.rounds)


if __name__ == "__main__":
    asyncio.run(main())
