"""Publishing DCAT descriptions and serving the catalogue built for each requester."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from rdflib import Graph

from catalog.rdf import parse_graph
from catalog.validation import profile_shapes, validate_graph
from connector.api.client import ManagementError
from connector.demo.localspace import LocalDataspace
from tests.e2e.catalog_support import described, entry_yaml
from tests.e2e.conftest import COUNCIL, open_offer, publish

pytestmark = pytest.mark.anyio
OTHER_COUNCIL = "urn:tsunagu:council:other-basin"


async def _peer_catalog(space: LocalDataspace, who: str = "consumer") -> dict[str, Any]:
    result: dict[str, Any] = await space[who].client.call(
        "GET", "/catalog", params={"provider": space["provider"].did}
    )
    return result


def _ids(catalog: dict[str, Any]) -> set[str]:
    return {d["@id"] for d in catalog.get("dataset", [])}


async def test_published_description_is_served_over_dsp(space: LocalDataspace) -> None:
    provider = space["provider"]
    result = await described(provider, "urn:example:water-level")
    assert result["datasets"][0]["id"] == "urn:example:water-level"
    catalog = await _peer_catalog(space)
    (dataset,) = catalog["dataset"]
    titles = {t["@language"]: t["@value"] for t in dataset["dct:title"]}
    assert titles == {"ja": "上流橋河川水位", "en": "Joryu Bridge water level"}
    assert {"@id": "https://w3id.org/tsunagu/vocab/theme/river-water-level"} in dataset[
        "dcat:theme"
    ]
    assert dataset["hasPolicy"][0]["@id"] == "urn:example:water-level:offer"
    # the service carries its title (DCAT-AP requires one)
    assert catalog["service"][0]["dct:title"]


async def test_unknown_theme_is_refused_and_nothing_changes(space: LocalDataspace) -> None:
    provider = space["provider"]
    await publish(provider, "urn:example:x", open_offer("urn:example:x:offer"))
    body = {
        "document": entry_yaml(provider, "urn:example:x", theme="no-such-theme"),
        "format": "yaml",
    }
    with pytest.raises(ManagementError) as caught:
        await provider.client.call("POST", "/catalog/entries", json=body)
    assert caught.value.code == "unknown_theme"
    entry = await provider.client.call("GET", "/catalog/entries/urn:example:x")
    assert entry["described"] is False


async def test_profile_violation_answers_in_plain_words(space: LocalDataspace) -> None:
    provider = space["provider"]
    await publish(provider, "urn:example:y", open_offer("urn:example:y:offer"))
    document = entry_yaml(provider, "urn:example:y").replace(", en: Joryu Bridge water level", "")
    async with httpx.AsyncClient() as http:
        response = await http.post(
            provider.client.base_url + "/management/catalog/validate",
            json={"document": document, "format": "yaml"},
            headers={"Authorization": f"Bearer {provider.settings.management_token}"},
        )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_entry"
    assert any("title in English" in p for p in error["problems"])


async def test_malformed_turtle_is_invalid_rdf(space: LocalDataspace) -> None:
    provider = space["provider"]
    with pytest.raises(ManagementError) as caught:
        await provider.client.call(
            "POST", "/catalog/entries", json={"document": "<a> <b> .", "format": "turtle"}
        )
    assert caught.value.code == "invalid_rdf"


async def test_describing_an_unknown_dataset_is_refused(space: LocalDataspace) -> None:
    provider = space["provider"]
    body = {"document": entry_yaml(provider, "urn:example:none"), "format": "yaml"}
    with pytest.raises(ManagementError) as caught:
        await provider.client.call("POST", "/catalog/entries", json=body)
    assert caught.value.code == "unknown_dataset"


async def test_restricted_dataset_is_hidden_like_an_unknown_one(space: LocalDataspace) -> None:
    provider = space["provider"]
    await space.add("outsider", "D町", municipality_code="204501", memberships=[OTHER_COUNCIL])
    await described(provider, "urn:example:public")
    await described(provider, "urn:example:council", audience=[COUNCIL])
    assert _ids(await _peer_catalog(space, "consumer")) == {
        "urn:example:public",
        "urn:example:council",
    }
    assert _ids(await _peer_catalog(space, "outsider")) == {"urn:example:public"}
    # the hidden dataset's GET answers exactly as an unknown one does
    outsider = space["outsider"].connector
    base = provider.settings.dsp_base
    token = outsider.dispatcher.token_for(provider.did)
    async with httpx.AsyncClient() as http:
        answers = []
        for dataset_id in ("urn:example:council", "urn:example:never-was"):
            response = await http.get(
                f"{base}/catalog/datasets/{dataset_id}",
                headers={"Authorization": f"Bearer {outsider.dispatcher.token_for(provider.did)}"},
            )
            body = response.json()
            answers.append((response.status_code, body["code"], body["@type"]))
        del token
    assert answers[0][0] == 404
    assert answers[0][:2] == answers[1][:2]


async def test_offers_differ_by_requester(space: LocalDataspace) -> None:
    provider = space["provider"]
    await space.add("outsider", "D町", municipality_code="204501", memberships=[OTHER_COUNCIL])
    offers = [open_offer("urn:example:w:open"), open_offer("urn:example:w:members")]
    await described(
        provider,
        "urn:example:w",
        offers=offers,
        offer_audience={"urn:example:w:members": [COUNCIL]},
    )
    mine = (await _peer_catalog(space, "consumer"))["dataset"][0]["hasPolicy"]
    theirs = (await _peer_catalog(space, "outsider"))["dataset"][0]["hasPolicy"]
    assert {o["@id"] for o in mine} == {"urn:example:w:open", "urn:example:w:members"}
    assert {o["@id"] for o in theirs} == {"urn:example:w:open"}


async def test_offers_a_requester_can_never_satisfy_are_not_shown(
    space: LocalDataspace,
) -> None:
    """Policy visibility: an offer for companies is not shown to a municipality (its verified
    role can never satisfy it); an offer that fails only on time stays visible."""
    provider = space["provider"]
    await space.add("company", "D社", role="company")

    def only(offer_id: str, constraint: dict[str, Any]) -> dict[str, Any]:
        return {
            **open_offer(offer_id),
            "permission": [{"action": "use", "constraint": [constraint]}],
        }

    later = {"leftOperand": "dateTime", "operator": "gteq", "rightOperand": "2999-01-01T00:00:00Z"}
    offers = [
        only(
            "urn:example:v:companies",
            {"leftOperand": "role", "operator": "eq", "rightOperand": "company"},
        ),
        only("urn:example:v:later", later),
    ]
    await described(provider, "urn:example:v", offers=offers)
    municipality = (await _peer_catalog(space, "consumer"))["dataset"][0]["hasPolicy"]
    company = (await _peer_catalog(space, "company"))["dataset"][0]["hasPolicy"]
    assert {o["@id"] for o in municipality} == {"urn:example:v:later"}
    assert {o["@id"] for o in company} == {"urn:example:v:companies", "urn:example:v:later"}


async def _dsp_request(
    space: LocalDataspace, body: dict[str, Any], params: str = "", gzip_ok: bool = False
) -> httpx.Response:
    provider, consumer = space["provider"], space["consumer"].connector
    headers = {"Authorization": f"Bearer {consumer.dispatcher.token_for(provider.did)}"}
    if gzip_ok:
        headers["Accept-Encoding"] = "gzip"
    else:
        headers["Accept-Encoding"] = "identity"
    message = {
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "CatalogRequestMessage",
        **body,
    }
    async with httpx.AsyncClient() as http:
        return await http.post(
            f"{provider.settings.dsp_base}/catalog/request{params}", json=message, headers=headers
        )


async def test_filter_pages_and_gzip(space: LocalDataspace) -> None:
    provider = space["provider"]
    for i in range(5):
        await publish(provider, f"urn:example:d{i}", open_offer(f"urn:example:d{i}:offer"))
    await described(
        provider,
        "urn:example:rain",
        title="雨量",
        title_en="Rainfall",
        keyword="雨量",
        keyword_en="rain",
        theme="rainfall",
    )
    found = (await _dsp_request(space, {"filter": [{"keyword": "雨"}]})).json()
    assert _ids(found) == {"urn:example:rain"}
    themed = await _dsp_request(
        space, {"filter": [{"theme": "https://w3id.org/tsunagu/vocab/theme/rainfall"}]}
    )
    assert _ids(themed.json()) == {"urn:example:rain"}
    refused = await _dsp_request(space, {"filter": [{"colour": "red"}]})
    assert refused.status_code == 400 and refused.json()["code"] == "unsupported_filter"

    first = await _dsp_request(space, {}, "?limit=4")
    assert len(first.json()["dataset"]) == 4
    assert 'rel="next"' in first.headers["link"]
    next_url = first.headers["link"].split(">")[0].removeprefix("<")
    second = await _dsp_request(space, {}, "?" + next_url.split("?", 1)[1])
    assert len(second.json()["dataset"]) == 2
    assert 'rel="previous"' in second.headers["link"] and 'rel="next"' not in second.headers["link"]
    assert _ids(first.json()).isdisjoint(_ids(second.json()))

    zipped = await _dsp_request(space, {}, gzip_ok=True)
    assert zipped.headers.get("content-encoding") == "gzip"
    assert len(zipped.json()["dataset"]) == 6  # httpx decodes it


@pytest.mark.parametrize(
    ("accept", "media", "rdf_format"),
    [
        ("text/turtle", "text/turtle", "turtle"),
        ("application/ld+json", "application/ld+json", "json-ld"),
        ("application/rdf+xml;q=0.9, text/plain;q=0.1", "application/rdf+xml", "xml"),
    ],
)
async def test_public_dcat_endpoint_negotiates(
    space: LocalDataspace, accept: str, media: str, rdf_format: str
) -> None:
    provider = space["provider"]
    await described(provider, "urn:example:public")
    await described(provider, "urn:example:council", audience=[COUNCIL])
    async with httpx.AsyncClient() as http:
        response = await http.get(
            provider.settings.public_url + "/catalog", headers={"Accept": accept}
        )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media)
    graph = parse_graph(response.text, rdf_format)  # JSON-LD: the pinned context, inline
    subjects = {str(s) for s in graph.subjects()}
    assert "urn:example:public" in subjects
    assert "urn:example:council" not in subjects  # restricted: not public


async def test_public_dcat_refuses_unknown_media(space: LocalDataspace) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.get(
            space["provider"].settings.public_url + "/catalog", headers={"Accept": "image/png"}
        )
    assert response.status_code == 406
    assert response.json()["error"]["code"] == "not_acceptable"


async def test_what_is_published_passes_dcat_ap_and_profile(
    space: LocalDataspace, shared_dir: Path
) -> None:
    dcat_ap = Graph()
    for name in ("shapes.ttl", "range.ttl", "shapes_recommended.ttl"):
        dcat_ap.parse(shared_dir / "dcat-ap" / name, format="turtle")
    provider = space["provider"]
    await described(provider, "urn:example:public")
    async with httpx.AsyncClient() as http:
        response = await http.get(provider.settings.public_url + "/catalog?format=turtle")
    graph = Graph().parse(data=response.text, format="turtle")
    for shapes in (dcat_ap, profile_shapes()):
        report = validate_graph(graph, shapes)
        assert report.conforms, [i.text() for i in report.violations]


async def test_live_catalogue_and_errors_are_schema_valid(
    space: LocalDataspace, validate: Any
) -> None:
    provider = space["provider"]
    offers = [open_offer("urn:example:v:open"), open_offer("urn:example:v:members")]
    await described(
        provider,
        "urn:example:v",
        offers=offers,
        offer_audience={"urn:example:v:members": [COUNCIL]},
    )
    await described(provider, "urn:example:council", audience=[COUNCIL])
    page = await _dsp_request(space, {"filter": [{"keyword": "水位"}]}, "?limit=1")
    validate(page.json(), "catalog/catalog-schema.json")
    refused = await _dsp_request(space, {"filter": [{"colour": "red"}]})
    validate(refused.json(), "catalog/catalog-error-schema.json")
    consumer = space["consumer"].connector
    async with httpx.AsyncClient() as http:
        one = await http.get(
            f"{provider.settings.dsp_base}/catalog/datasets/urn:example:v",
            headers={"Authorization": f"Bearer {consumer.dispatcher.token_for(provider.did)}"},
        )
    validate(one.json(), "catalog/dataset-schema.json")


@pytest.mark.parametrize("rdf_format", ["turtle", "json-ld", "xml"])
async def test_what_we_serve_can_be_published_again(space: LocalDataspace, rdf_format: str) -> None:
    provider = space["provider"]
    await described(provider, "urn:example:round")
    text = await provider.client.text("GET", "/catalog/own", params={"format": rdf_format})
    again = await provider.client.call(
        "POST", "/catalog/entries", json={"document": text, "format": rdf_format}
    )
    assert again["datasets"] == [{"id": "urn:example:round", "created": False, "warnings": []}]
