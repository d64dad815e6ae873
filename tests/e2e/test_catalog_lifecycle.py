"""A catalogue entry's life: its text edited per language (checked by the shapes), its dataset
retired or removed (gone from the published catalogue, from a harvester's index, and leaving
no description behind), and a SPARQL query that runs past its deadline being really stopped."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from connector.api.client import ManagementError
from connector.control.sparql import SparqlService
from connector.demo.localspace import LocalDataspace
from tests.e2e.catalog_support import described
from tests.e2e.conftest import open_offer, publish
from tests.e2e.holds_support import tsunagu

pytestmark = pytest.mark.anyio


async def _harvest(space: LocalDataspace) -> dict[str, Any]:
    provider = space["provider"]
    result = await space["consumer"].client.call(
        "POST",
        "/catalog/harvest",
        json={"peers": [{"did": provider.did, "address": provider.settings.dsp_base}]},
    )
    outcome: dict[str, Any] = result["peers"][0]
    assert outcome["ok"], outcome
    return outcome


async def _found(space: LocalDataspace, text: str) -> list[str]:
    result = await space["consumer"].client.call("GET", "/catalog/search", params={"q": text})
    return [h["dataset"] for h in result["hits"]]


async def _published_ids(space: LocalDataspace) -> list[str]:
    catalog = await space["consumer"].client.call(
        "GET", "/catalog", params={"provider": space["provider"].did}
    )
    datasets = catalog.get("dataset", [])
    return [d["@id"] for d in (datasets if isinstance(datasets, list) else [datasets])]


def _texts(dataset: dict[str, Any], key: str) -> dict[str, list[str]]:
    values = dataset.get(key, [])
    out: dict[str, list[str]] = {}
    for v in values if isinstance(values, list) else [values]:
        out.setdefault(v.get("@language", ""), []).append(v["@value"])
    return {k: sorted(v) for k, v in out.items()}


async def test_text_is_edited_per_language_and_checked(space: LocalDataspace) -> None:
    provider = space["provider"]
    client = provider.client
    await described(provider, "urn:a:level")
    changed = await client.call(
        "PATCH",
        "/catalog/entries/urn:a:level",
        json={
            "title": {"en": "Upper bridge river level"},
            "description": {"ja": "上流橋の河川水位（10分毎）。"},
            "keywords": {"ja": ["水位", "洪水"], "en": ["river level"]},
        },
    )
    assert changed["published"] and changed["datasets"][0]["created"] is False
    dataset = (await client.call("GET", "/catalog/entries/urn:a:level"))["dataset"]
    # English title replaced, Japanese kept; keywords of both languages replaced
    assert _texts(dataset, "dct:title") == {
        "ja": ["上流橋河川水位"],
        "en": ["Upper bridge river level"],
    }
    assert _texts(dataset, "dct:description")["ja"] == ["上流橋の河川水位（10分毎）。"]
    assert _texts(dataset, "dcat:keyword") == {"ja": ["水位", "洪水"], "en": ["river level"]}

    # a harvester finds it by the new words
    await _harvest(space)
    assert await _found(space, "洪水") == ["urn:a:level"]
    assert await _found(space, "bridge river") == ["urn:a:level"]

    # removing every title breaks the shapes: refused, nothing changes
    with pytest.raises(ManagementError) as caught:
        await client.call(
            "PATCH", "/catalog/entries/urn:a:level", json={"title": {"ja": "", "en": ""}}
        )
    assert caught.value.code == "invalid_entry"
    with pytest.raises(ManagementError) as caught:
        await client.call("PATCH", "/catalog/entries/urn:a:level", json={"title": {"日本": "x"}})
    assert caught.value.code == "invalid_language"
    with pytest.raises(ManagementError) as caught:
        await client.call("PATCH", "/catalog/entries/urn:nope", json={"title": {"en": "x"}})
    assert caught.value.code == "unknown_dataset"
    dataset = (await client.call("GET", "/catalog/entries/urn:a:level"))["dataset"]
    assert _texts(dataset, "dct:title")["en"] == ["Upper bridge river level"]


async def test_removed_and_retired_datasets_leave_catalogue_and_index(
    space: LocalDataspace,
) -> None:
    provider = space["provider"]
    client = provider.client
    await described(provider, "urn:a:kept")
    await described(provider, "urn:a:removed", title="撤去観測所水位", title_en="Removed station")
    await described(provider, "urn:a:retired", title="休止観測所水位", title_en="Retired station")
    first = await _harvest(space)
    assert first["changed"] == 3
    assert sorted(await _found(space, "観測所水位")) == ["urn:a:removed", "urn:a:retired"]

    await client.call("DELETE", "/datasets/urn:a:removed")
    await client.call("POST", "/datasets/urn:a:retired/retire", json={"reason": "station closed"})
    assert sorted(await _published_ids(space)) == ["urn:a:kept"]
    with pytest.raises(ManagementError) as caught:
        await client.call("GET", "/catalog/entries/urn:a:removed")
    assert caught.value.code == "unknown_dataset"

    again = await _harvest(space)
    assert (again["removed"], again["unchanged"], again["changed"]) == (2, 1, 0)
    assert await _found(space, "観測所水位") == []
    assert await _found(space, "removed station") == []
    assert await _found(space, "joryu") == ["urn:a:kept"]

    # added again under the same id, the removed dataset starts undescribed: no stale text
    await publish(provider, "urn:a:removed", open_offer("urn:a:removed:offer2"))
    entry = await client.call("GET", "/catalog/entries/urn:a:removed")
    assert entry["described"] is False
    assert "撤去観測所水位" not in str(entry["dataset"])
    third = await _harvest(space)
    assert third["changed"] == 1
    assert await _found(space, "撤去観測所水位") == []


async def test_sparql_past_its_deadline_is_stopped(space: LocalDataspace) -> None:
    provider = space["provider"]
    for i in range(3):
        await described(provider, f"urn:a:s{i}")
    await _harvest(space)
    consumer = space["consumer"]
    service = SparqlService.of(consumer.connector)
    service.deadline = 1.5
    client = consumer.client
    ok = await client.call(
        "GET", "/catalog/sparql", params={"query": "ASK { ?s ?p ?o }"}
    )  # a worker starts and builds its graph: not counted against the query
    assert ok == {"boolean": True}
    worker = service._worker
    assert worker is not None and worker.alive()

    # a cross product of every triple with itself five times over: hours of evaluation
    pathological = (
        "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n2 ?o }"
    )
    started = time.monotonic()
    with pytest.raises(ManagementError) as caught:
        await client.call("GET", "/catalog/sparql", params={"query": pathological})
    elapsed = time.monotonic() - started
    assert caught.value.code == "sparql_timeout"
    assert elapsed < 10
    # the evaluation really stopped: its process is gone, not left running
    assert not worker.alive() and worker.process.exitcode is not None
    assert service._worker is None

    # the next query gets a fresh worker and its answer
    answer = await client.call(
        "GET",
        "/catalog/sparql",
        params={"query": "SELECT ?d WHERE { ?d a <http://www.w3.org/ns/dcat#Dataset> }"},
    )
    assert sorted(r["d"] for r in answer["rows"]) == ["urn:a:s0", "urn:a:s1", "urn:a:s2"]
    fresh = service._worker
    assert fresh is not None and fresh.alive()
    await space.stop("consumer")  # stopping the connector stops its worker too
    assert not fresh.alive()


async def _served(space: LocalDataspace, dataset_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The dataset as a peer sees it: in the DSP catalogue and from its DSP GET."""
    provider = space["provider"]
    catalog = await space["consumer"].client.call(
        "GET", "/catalog", params={"provider": provider.did}
    )
    datasets = catalog["dataset"] if isinstance(catalog["dataset"], list) else [catalog["dataset"]]
    listed = next(d for d in datasets if d["@id"] == dataset_id)
    token = space["consumer"].connector.dispatcher.token_for(provider.did)
    async with httpx.AsyncClient() as http:
        response = await http.get(
            f"{provider.settings.dsp_base}/catalog/datasets/{dataset_id}",
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200, response.text
    one: dict[str, Any] = response.json()
    return listed, one


async def test_dataset_update_reaches_its_published_description(space: LocalDataspace) -> None:
    provider = space["provider"]
    client = provider.client
    await described(provider, "urn:a:level")
    # PATCH: a plain title goes to the language it is written in, the other stays
    await client.call("PATCH", "/datasets/urn:a:level", json={"title": "Upper bridge gauge"})
    for seen in await _served(space, "urn:a:level"):
        assert _texts(seen, "dct:title") == {"ja": ["上流橋河川水位"], "en": ["Upper bridge gauge"]}
    await client.call(
        "PATCH",
        "/datasets/urn:a:level",
        json={"title": "上流橋水位計", "keywords": ["水位", "河川", "gauge"]},
    )
    for seen in await _served(space, "urn:a:level"):
        assert _texts(seen, "dct:title") == {"ja": ["上流橋水位計"], "en": ["Upper bridge gauge"]}
        assert _texts(seen, "dcat:keyword") == {"ja": ["水位", "河川"], "en": ["gauge"]}
    # PUT with an explicit language replaces that language's text and the themes
    theme = "https://w3id.org/tsunagu/vocab/theme/rainfall"
    replaced = await client.call(
        "PUT",
        "/datasets/urn:a:level",
        json={
            "title": "Upper bridge rain gauge",
            "description": "Rainfall at the upper bridge.",
            "keywords": ["rain"],
            "themes": [theme],
            "language": "en",
        },
    )
    assert replaced["title"] == "Upper bridge rain gauge" and replaced["themes"] == [theme]
    for seen in await _served(space, "urn:a:level"):
        assert _texts(seen, "dct:title") == {
            "ja": ["上流橋水位計"],
            "en": ["Upper bridge rain gauge"],
        }
        assert _texts(seen, "dct:description")["en"] == ["Rainfall at the upper bridge."]
        assert _texts(seen, "dcat:keyword") == {"ja": ["水位", "河川"], "en": ["rain"]}
        themes = (
            seen["dcat:theme"] if isinstance(seen["dcat:theme"], list) else [seen["dcat:theme"]]
        )
        assert [t["@id"] if isinstance(t, dict) else t for t in themes] == [theme]
    # a change the shapes refuse (an unknown theme) changes nothing, the row neither
    with pytest.raises(ManagementError) as caught:
        await client.call(
            "PATCH",
            "/datasets/urn:a:level",
            json={"title": "Never", "themes": ["https://w3id.org/tsunagu/vocab/theme/nope"]},
        )
    assert caught.value.code == "unknown_theme"
    assert (await client.call("GET", "/datasets/urn:a:level"))["title"] == "Upper bridge rain gauge"
    for seen in await _served(space, "urn:a:level"):
        assert _texts(seen, "dct:title")["en"] == ["Upper bridge rain gauge"]
    # the CLI does the same
    result = await tsunagu(
        "dataset",
        "update",
        provider.settings.directory,
        "urn:a:level",
        "--title",
        "Upper bridge level",
        "--language",
        "en",
    )
    assert result.exit_code == 0, result.output
    for seen in await _served(space, "urn:a:level"):
        assert _texts(seen, "dct:title")["en"] == ["Upper bridge level"]


async def test_a_retired_datasets_text_can_still_be_edited(space: LocalDataspace) -> None:
    provider = space["provider"]
    client = provider.client
    await described(provider, "urn:a:old", title="旧観測所水位", title_en="Old station")
    await client.call("POST", "/datasets/urn:a:old/retire", json={"reason": "station closed"})
    await client.call(
        "PATCH", "/catalog/entries/urn:a:old", json={"title": {"en": "Old station (closed)"}}
    )
    entry = await client.call("GET", "/catalog/entries/urn:a:old")
    assert _texts(entry["dataset"], "dct:title")["en"] == ["Old station (closed)"]
    await client.call("PATCH", "/datasets/urn:a:old", json={"title": "旧観測所水位（廃止）"})
    entry = await client.call("GET", "/catalog/entries/urn:a:old")
    assert _texts(entry["dataset"], "dct:title") == {
        "ja": ["旧観測所水位（廃止）"],
        "en": ["Old station (closed)"],
    }
    # still retired: off the published catalogue
    assert await _published_ids(space) == []
    assert (await client.call("GET", "/datasets/urn:a:old"))["state"] == "retired"
