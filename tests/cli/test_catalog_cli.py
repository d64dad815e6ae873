"""`tsunagu catalog publish|validate|show|import|harvest` and `tsunagu search` against running
connectors (the CLI runs in a worker thread with its own event loop, as from a shell)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import anyio
import pytest
from click.testing import CliRunner, Result

from connector.cli import main
from connector.demo.localspace import LocalDataspace
from tests.e2e.catalog_support import entry_yaml
from tests.e2e.conftest import COUNCIL, open_offer, publish

pytestmark = pytest.mark.anyio

PORTAL = """
@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .

<https://portal.example/dataset/rain> a dcat:Dataset ;
    dct:title "上流雨量"@ja , "Upstream rainfall"@en ;
    dct:description "雨量計の観測値。"@ja , "Rain gauge readings."@en ;
    dcat:keyword "雨量"@ja ;
    dcat:theme <https://w3id.org/tsunagu/vocab/theme/rainfall> ;
    dct:spatial <http://data.e-stat.go.jp/lod/sac/C20215> ;
    dct:publisher [ a foaf:Agent ; foaf:name "A市"@ja ] ;
    dcat:contactPoint [ a vcard:Organization ; vcard:fn "A市 防災課"@ja ;
        vcard:hasEmail <mailto:bousai@example.org> ] .
"""


@pytest.fixture
async def space(
    tmp_path: Path, database_for: Callable[[str], str | None]
) -> AsyncIterator[LocalDataspace]:
    async with LocalDataspace(tmp_path, database_url_for=database_for) as s:
        await s.start_authority()
        await s.add("a", "A市", municipality_code="202151", memberships=[COUNCIL])
        await s.add("c", "C村", municipality_code="204323", memberships=[COUNCIL])
        yield s


TERMINAL = {"TTY_COMPATIBLE": "1"}  # rich shows progress as on a terminal


async def tsunagu(*args: object) -> Result:
    runner = CliRunner()
    return await anyio.to_thread.run_sync(
        lambda: runner.invoke(main, [str(a) for a in args], catch_exceptions=False)
    )


async def test_publish_validate_show_harvest_search(space: LocalDataspace, tmp_path: Path) -> None:
    a = space["a"]
    await publish(a, "urn:a:water-level", open_offer("urn:a:water-level:offer"))
    good = tmp_path / "entry.yaml"
    good.write_text(entry_yaml(a, "urn:a:water-level"), encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(entry_yaml(a, "urn:a:water-level", places="'999999'"), encoding="utf-8")

    checked = await tsunagu("catalog", "validate", a.settings.directory, bad)
    assert checked.exit_code == 1
    assert "unknown_place" in checked.output or "check digit" in checked.output

    published = await tsunagu("catalog", "publish", a.settings.directory, good)
    assert published.exit_code == 0, published.output
    assert "published: urn:a:water-level (new)" in published.output

    shown = await tsunagu("catalog", "show", a.settings.directory)
    assert (
        shown.exit_code == 0 and "上流橋河川水位" in shown.output and "dcat:Dataset" in shown.output
    )

    one = await tsunagu("catalog", "show", a.settings.directory, "urn:a:water-level")
    assert one.exit_code == 0 and one.output.startswith("dataset urn:a:water-level"), one.output
    one_json = await tsunagu("catalog", "show", a.settings.directory, "urn:a:water-level", "--json")
    assert json.loads(one_json.output)["dataset"]["@id"] == "urn:a:water-level"

    read = await tsunagu("catalog", space["c"].settings.directory, a.did)  # the old form
    assert read.exit_code == 0 and "urn:a:water-level" in read.output

    harvested = await tsunagu("catalog", "harvest", space["c"].settings.directory)
    assert harvested.exit_code == 0, harvested.output
    assert f"[1/1] {a.did}: 1 entries (1 new or changed" in harvested.output

    on_terminal = await anyio.to_thread.run_sync(
        lambda: CliRunner().invoke(
            main, ["catalog", "harvest", str(space["c"].settings.directory)], env=TERMINAL
        )
    )
    assert on_terminal.exit_code == 0, on_terminal.output
    assert "peers/s" in on_terminal.stderr and "1/1" in on_terminal.stderr  # a bar with a rate
    assert "peers/s" not in on_terminal.stdout and "peers/s" not in harvested.output

    again = await tsunagu("catalog", "harvest", space["c"].settings.directory, "--json")
    assert again.exit_code == 0, again.output
    report = json.loads(again.output)
    assert report["peers"] == 1 and [r["did"] for r in report["results"]] == [a.did]

    found = await tsunagu("search", space["c"].settings.directory, "水位", "--near", "204323")
    assert found.exit_code == 0, found.output
    header, rule, row, *_ = found.output.splitlines()
    assert header.split() == ["title", "publisher", "dataset", "provider"]
    assert row.startswith("上流橋河川水位") and "urn:a:water-level" in row
    none = await tsunagu("search", space["c"].settings.directory, "雪")
    assert "no dataset matches" in none.output


async def test_import_a_portal_file(space: LocalDataspace, tmp_path: Path) -> None:
    a = space["a"]
    await publish(a, "urn:a:rain", open_offer("urn:a:rain:offer"))
    portal = tmp_path / "ckan.ttl"
    portal.write_text(PORTAL, encoding="utf-8")
    imported = await tsunagu(
        "catalog", "import", a.settings.directory, portal, "--as", "urn:a:rain"
    )
    assert imported.exit_code == 0, imported.output
    assert "published: urn:a:rain (new)" in imported.output
    entry = await a.client.call("GET", "/catalog/entries/urn:a:rain")
    titles = {t["@language"]: t["@value"] for t in entry["dataset"]["dct:title"]}
    assert titles["ja"] == "上流雨量"


async def test_text_per_language(space: LocalDataspace, tmp_path: Path) -> None:
    a = space["a"]
    await publish(a, "urn:a:water-level", open_offer("urn:a:water-level:offer"))
    entry = tmp_path / "entry.yaml"
    entry.write_text(entry_yaml(a, "urn:a:water-level"), encoding="utf-8")
    assert (await tsunagu("catalog", "publish", a.settings.directory, entry)).exit_code == 0

    changed = await tsunagu(
        "catalog",
        "text",
        a.settings.directory,
        "urn:a:water-level",
        "--title",
        "en=Upper bridge river level",
        "--description",
        "ja=上流橋の水位。",
        "--keyword",
        "ja=洪水",
        "--keyword",
        "ja=水位",
    )
    assert changed.exit_code == 0, changed.output
    assert "published: urn:a:water-level (updated)" in changed.output
    shown = await tsunagu("catalog", "show", a.settings.directory, "urn:a:water-level", "--json")
    dataset = json.loads(shown.output)["dataset"]
    titles = {t["@language"]: t["@value"] for t in dataset["dct:title"]}
    assert titles == {"ja": "上流橋河川水位", "en": "Upper bridge river level"}
    keywords = sorted(k["@value"] for k in dataset["dcat:keyword"] if k["@language"] == "ja")
    assert keywords == ["水位", "洪水"]

    emptied = await tsunagu(
        "catalog",
        "text",
        a.settings.directory,
        "urn:a:water-level",
        "--title",
        "ja=",
        "--title",
        "en=",
    )
    assert emptied.exit_code == 1 and "invalid_entry" in emptied.output
    unlabelled = await tsunagu(
        "catalog", "text", a.settings.directory, "urn:a:water-level", "--title", "x"
    )
    assert unlabelled.exit_code == 2 and "LANG=TEXT" in unlabelled.output
