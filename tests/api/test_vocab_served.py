"""A running connector serves the shared vocabulary at /vocab, by content negotiation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from connector.demo.localspace import LocalDataspace, Participant
from vocab.contexts import parse_jsonld
from vocab.vocabulary import load_vocabulary

pytestmark = pytest.mark.anyio


@pytest.fixture
async def participant(tmp_path: Path) -> AsyncIterator[Participant]:
    async with LocalDataspace(tmp_path) as space:
        await space.start_authority()
        yield await space.add("a", "A市")


async def test_the_connector_serves_the_vocabulary_by_accept(participant: Participant) -> None:
    base = participant.settings.public_url
    async with httpx.AsyncClient() as http:
        turtle = await http.get(base + "/vocab", headers={"Accept": "text/turtle"})
        jsonld = await http.get(base + "/vocab", headers={"Accept": "application/ld+json"})
    assert turtle.status_code == jsonld.status_code == 200
    assert turtle.headers["content-type"].startswith("text/turtle")
    assert jsonld.headers["content-type"].startswith("application/ld+json")
    shared = load_vocabulary().graph
    assert isomorphic(Graph().parse(data=turtle.text, format="turtle"), shared)
    assert isomorphic(parse_jsonld(jsonld.json()), shared)


async def test_no_other_route_lives_under_vocab(participant: Participant) -> None:
    async with httpx.AsyncClient() as http:
        spec = (await http.get(participant.settings.public_url + "/openapi.json")).json()
    under = {
        path: {tag for operation in item.values() for tag in operation.get("tags", [])}
        for path, item in spec["paths"].items()
        if path.split("/")[1] == "vocab"
    }
    assert {"/vocab", "/vocab/context.jsonld", "/vocab/{path}"} <= set(under), sorted(under)
    assert all(tags == {"vocabulary"} for tags in under.values()), under
    assert "/management/negotiations" in spec["paths"]  # the rest is still there
