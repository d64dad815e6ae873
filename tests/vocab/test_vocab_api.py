"""The vocabulary served over HTTP at stable paths, with content negotiation."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from rdflib import Graph
from rdflib.compare import isomorphic

from connector.api.vocab import vocab_router
from vocab.contexts import parse_jsonld
from vocab.vocabulary import Vocabulary, parse_turtle

pytestmark = pytest.mark.anyio


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://connector")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.include_router(vocab_router())
    async with _client(app) as client:
        yield client


async def test_the_vocabulary_in_turtle_by_default(
    client: httpx.AsyncClient, vocabulary: Vocabulary
) -> None:
    response = await client.get("/vocab")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/turtle")
    assert response.headers["vary"] == "Accept"
    assert isomorphic(Graph().parse(data=response.text, format="turtle"), vocabulary.graph)


async def test_json_ld_for_machines_and_html_for_browsers(client: httpx.AsyncClient) -> None:
    jsonld = await client.get("/vocab/theme/flood", headers={"Accept": "application/ld+json"})
    assert jsonld.headers["content-type"].startswith("application/ld+json")
    graph = parse_jsonld(jsonld.json())
    assert len(graph) > 5
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    page = await client.get("/vocab/theme/flood", headers={"Accept": browser})
    assert page.headers["content-type"].startswith("text/html")
    assert "洪水・浸水" in page.text and 'href="/vocab/theme/river-water-level"' in page.text


async def test_the_format_parameter_overrides_accept(client: httpx.AsyncClient) -> None:
    response = await client.get("/vocab/theme/flood?format=ttl", headers={"Accept": "text/html"})
    assert response.headers["content-type"].startswith("text/turtle")


async def test_terms_resolve_at_their_paths(client: httpx.AsyncClient) -> None:
    response = await client.get("/vocab/threshold/flood-danger")
    graph = Graph().parse(data=response.text, format="turtle")
    labels = {str(o) for o in graph.objects() if getattr(o, "language", None) == "ja"}
    assert "氾濫危険水位" in labels
    assert (await client.get("/vocab/WaterLevelObservation")).status_code == 200


async def test_a_deprecated_term_names_its_successor(client: httpx.AsyncClient) -> None:
    response = await client.get("/vocab/theme/river")
    assert response.status_code == 200
    assert response.headers["link"] == (
        '<https://w3id.org/tsunagu/vocab/theme/river-water-level>; rel="successor-version"'
    )


async def test_releases_are_served_at_their_version_iris(client: httpx.AsyncClient) -> None:
    old = await client.get("/vocab/0.1.0")
    assert old.status_code == 200 and "immutable" in old.headers["cache-control"]
    assert '"0.1.0"' in old.text
    assert (await client.get("/vocab/0.2.0")).status_code == 200
    missing = await client.get("/vocab/9.9.9")
    assert missing.status_code == 404 and missing.json()["code"] == "unknown_release"


async def test_shapes_and_the_pinned_context(client: httpx.AsyncClient) -> None:
    shapes = await client.get("/vocab/shapes")
    assert "WaterLevelReadingShape" in shapes.text
    context = await client.get("/vocab/context.jsonld")
    assert context.headers["content-type"].startswith("application/ld+json")
    assert "resultTime" in context.json()["@context"]


async def test_unknown_terms_and_unacceptable_types(client: httpx.AsyncClient) -> None:
    missing = await client.get("/vocab/theme/volcano")
    assert missing.status_code == 404 and missing.json()["code"] == "unknown_term"
    refused = await client.get("/vocab/theme/flood", headers={"Accept": "image/png"})
    assert refused.status_code == 406
    assert (await client.get("/vocab/theme/flood?format=pdf")).status_code == 406


async def test_local_terms_are_served_by_iri(vocabulary: Vocabulary) -> None:
    local = parse_turtle(
        "@prefix x: <https://town.example.jp/vocab/> .\n"
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
        'x:level a skos:Concept ; skos:prefLabel "水位"@ja ;\n'
        "  skos:exactMatch <https://w3id.org/tsunagu/vocab/property/water-level> .\n"
    )
    app = FastAPI()
    app.include_router(vocab_router(vocabulary=vocabulary.with_extension(local)))
    async with _client(app) as client:
        response = await client.get(
            "/vocab/term",
            params={"iri": "https://town.example.jp/vocab/level", "format": "jsonld"},
        )
        whole = await client.get("/vocab?format=ttl")
    assert response.status_code == 200
    assert "exactMatch" in json.dumps(response.json())
    assert "town.example.jp" in whole.text
