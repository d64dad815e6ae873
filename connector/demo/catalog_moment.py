"""The demo's catalogue moment: A市 and B町 describe their datasets in DCAT with the shared
vocabulary, B町 also shows one dataset only to another council, C村 harvests the basin's
catalogues from the authority's participant list and searches for water levels upstream.

It fails (and so the demo) unless C村 finds A市's and B町's water levels and not B町's
dataset for the other council.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from connector.errors import ConnectorError
from connector.text_table import table

if TYPE_CHECKING:
    from connector.demo.localspace import LocalDataspace
    from connector.demo.scenario import Steps

OTHER_COUNCIL = "urn:tsunagu:council:hoka-river-basin"
HIDDEN = "urn:tsunagu:dataset:203831:irrigation-gates"

_ENTRY = """
catalog:
  id: "{did}#catalog"
  participant: "{did}"
  title: {{ja: "{name} データカタログ", en: "{name} data catalogue"}}
  publisher: &pub {{id: "{did}", name: {{ja: "{name}", en: "{name}"}}, code: "{code}"}}
  service: {{id: "{did}#dsp", endpoint: "{dsp}"}}
datasets:
  - id: "{id}"
    title: {{ja: "{title}", en: "{title_en}"}}
    description: {{ja: "{title}（10分ごと）。", en: "{title_en}, every 10 minutes."}}
    keywords: {{ja: [{keyword}], en: [{keyword_en}]}}
    themes: [{theme}]
    places: ["{code}", tsunagu-river]
    period: {{start: 2024-04-01}}
    frequency: continuous
    resolution: PT10M
    publisher: *pub
    contact: {{name: {{ja: "{name} 防災担当"}}, email: "bousai@example.org"}}
    formats: [HttpData-PULL]
    mode: direct
"""


class DemoFailed(ConnectorError):
    code = "demo_catalog"


def _entry(participant: Any, code: str, dataset_id: str, **words: str) -> str:
    return _ENTRY.format(
        did=participant.did,
        name=participant.settings.name,
        code=code,
        dsp=participant.settings.dsp_base,
        id=dataset_id,
        **words,
    )


async def catalog_moment(basin: LocalDataspace, steps: Steps, datasets: dict[str, str]) -> None:
    """`datasets`: participant key -> its water-level dataset id (published already)."""
    codes = {"a": "202151", "b": "203831"}
    stations = {"a": ("上流橋", "Joryu Bridge"), "b": ("中流大橋", "Churyu Bridge")}
    for key, dataset_id in datasets.items():
        owner = basin[key]
        station, station_en = stations[key]
        document = _entry(
            owner,
            codes[key],
            dataset_id,
            title=f"{station} 河川水位",
            title_en=f"{station_en} river water level",
            keyword="水位, 河川",
            keyword_en="water level",
            theme="river-water-level",
        )

        async def describe(owner: Any = owner, document: str = document) -> Any:
            body = {"document": document, "format": "yaml"}
            return await owner.client.call("POST", "/catalog/entries", json=body)

        await steps.run(
            f"{owner.settings.name} describes its dataset in DCAT (vocabulary checked)", describe
        )

    b = basin["b"]

    async def hidden() -> Any:
        await b.client.call(
            "POST",
            "/datasets",
            json={
                "id": HIDDEN,
                "title": "用水路ゲート水位",
                "data_address": {"type": "HttpData", "baseUrl": "http://127.0.0.1:9/gates"},
                "offers": [
                    {
                        "policy": {
                            "@type": "Offer",
                            "@id": HIDDEN + ":offer",
                            "permission": [{"action": "use"}],
                        }
                    }
                ],
            },
        )
        document = _entry(
            b,
            "203831",
            HIDDEN,
            title="用水路ゲート 水位",
            title_en="Irrigation gate water level",
            keyword="水位, 用水路",
            keyword_en="irrigation",
            theme="river-water-level",
        )
        body = {"document": document, "format": "yaml", "audience": [OTHER_COUNCIL]}
        return await b.client.call("POST", "/catalog/entries", json=body)

    await steps.run("B町 shows one more dataset only to another council", hidden)
    c = basin["c"].client

    async def harvest() -> Any:
        result = await c.call("POST", "/catalog/harvest", json={"deadline": 10})
        failed = [p for p in result["peers"] if not p["ok"]]
        if failed:
            raise DemoFailed(f"harvest failed for {failed[0]['did']}: {failed[0]['failure']}")
        return result

    await steps.run(
        "C村 harvests the basin's catalogues (the authority's participant list)", harvest
    )

    async def search() -> Any:
        found = await c.call("GET", "/catalog/search", params={"q": "水位", "near": "204323"})
        ids = {h["dataset"] for h in found["hits"]}
        if not set(datasets.values()) <= ids:
            raise DemoFailed(f"search missed a neighbour's dataset: found {sorted(ids)}")
        if HIDDEN in ids:
            raise DemoFailed("search found B町's dataset for another council")
        return found

    found = await steps.run("C村 searches 「水位」 upstream of itself", search)
    rows = [[h["title"], h["publisher"], h["dataset"]] for h in found["hits"]]
    for line in table(rows, ["title", "publisher", "dataset"], [24, 10, 48]).splitlines():
        click.echo(f"      {line}")
