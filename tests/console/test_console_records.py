"""A dataset's page and editing it, agreements with their duties, and bytes moved per transfer,
in a real browser (screenshots in the artifacts folder)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.console.conftest import Space, log_in
from tests.console.support import call, csrf_of, logged_in

pytestmark = pytest.mark.browser
DATASET = "urn:tsunagu:dataset:b:levels-csv"
MEMBERS = {"leftOperand": "membership", "operator": "eq", "rightOperand": "urn:tsunagu:council:test-basin"}  # fmt: skip


def _publish(space: Space, tmp_path: Path, dataset: str, offer: dict[str, Any]) -> int:
    data = tmp_path / f"{dataset.rsplit(':', 1)[-1]}.csv"
    data.write_text("station,level\nB-01,1.20\nB-02,0.85\n" * 50)
    body = {
        "id": dataset,
        "title": "水位 CSV",
        "description": "毎時の水位",
        "data_address": {"type": "file", "path": str(data)},
        "offers": [{"policy": offer}],
    }
    call(space, "b", "POST", "/datasets", json=body)
    return data.stat().st_size


def test_editing_a_dataset_checks_everything_and_stores_nothing_bad(
    space: Space, page: Any, tmp_path: Path, artifacts: Path
) -> None:
    offer = {"@type": "Offer", "@id": "urn:offer:members", "permission": [{"action": "use", "constraint": [MEMBERS]}]}  # fmt: skip
    _publish(space, tmp_path, DATASET, offer)
    log_in(page, space, "b")
    page.goto(space.url("b", "/console/datasets"))
    page.locator("#datasets td.title a", has_text="水位 CSV").click()
    page.wait_for_url("**/console/dataset?id=*")
    who = page.locator("#offers td.who").inner_text()
    assert "urn:tsunagu:council:test-basin" in who  # who may see it, in words
    page.fill("#ed-title", "")
    page.fill("#ed-policy", '{"permission": [{"action": "usee"}]}')
    page.click("#save")
    errors = page.locator("#errors").inner_text()
    assert "タイトルを入力してください" in errors and "usee" in errors
    stored = call(space, "b", "GET", f"/datasets/{DATASET}")
    assert stored["title"] == "水位 CSV" and len(stored["offers"]) == 1  # nothing stored
    page.fill("#ed-title", "水位 CSV")
    page.fill("#ed-policy", "[not json")
    page.click("#save")
    assert "JSON" in page.locator("#errors").inner_text()
    assert len(call(space, "b", "GET", f"/datasets/{DATASET}")["offers"]) == 1
    page.fill("#ed-title", "中流大橋 水位 <b>CSV</b>")
    page.fill("#ed-description", "毎時の水位（改訂）")
    page.fill("#ed-policy", '{"permission": [{"action": "use"}]}')
    page.click("#save")
    page.wait_for_url("**/console/dataset?notice=done&id=*")
    assert page.locator("#dataset-title").inner_text() == "中流大橋 水位 <b>CSV</b>"  # as text
    stored = call(space, "b", "GET", f"/datasets/{DATASET}")
    assert stored["description"] == "毎時の水位（改訂）" and len(stored["offers"]) == 2
    assert "信頼された参加者なら誰でも" in page.locator("#offers").inner_text()
    page.screenshot(path=str(artifacts / "dataset.png"), full_page=True)


def _agree(space: Space, dataset: str) -> str:
    c = space["c"].client
    asked = call(
        space,
        "c",
        "POST",
        "/negotiations",
        json={"provider": space["b"].did, "dataset_id": dataset},
    )
    done = space.run(lambda: c.wait_for("negotiations", asked["id"], ["FINALIZED"]))
    return str(done["agreement_id"])


def test_agreements_show_their_duties_and_transfers_the_bytes_moved(
    space: Space, page: Any, tmp_path: Path, artifacts: Path
) -> None:
    later = {"action": "delete", "constraint": [{"leftOperand": "elapsedTime", "operator": "eq", "rightOperand": "P30D"}]}  # fmt: skip
    size = _publish(space, tmp_path, DATASET, {
        "@type": "Offer", "@id": "urn:offer:duties",
        "permission": [{"action": "use", "duty": [{"action": "attribute"}, later]}],
    })  # fmt: skip
    _publish(space, tmp_path, DATASET + "-now", {
        "@type": "Offer", "@id": "urn:offer:delete-now",
        "permission": [{"action": "use", "duty": [{"action": "delete"}]}],
    })  # fmt: skip
    agreement = _agree(space, DATASET)
    overdue = _agree(space, DATASET + "-now")

    log_in(page, space, "c")
    page.goto(space.url("c", "/console/agreements"))
    row = page.locator("#agreements tr").filter(has_text=agreement).first
    duties = row.locator("td.duties").inner_text()
    assert "attribute: 利用のたび" in duties and "delete: 未履行" in duties
    assert "期限超過" not in duties
    late = page.locator("#agreements tr").filter(has_text=overdue).first.locator("td.duties")
    assert "delete: 期限超過" in late.inner_text()
    page.screenshot(path=str(artifacts / "agreements-duties.png"), full_page=True)

    transfer = call(space, "c", "POST", "/transfers", json={"agreement_id": agreement})
    space.run(lambda: space["c"].client.wait_for("transfers", transfer["id"], ["STARTED"]))
    settings = space["c"].settings
    headers = {"Authorization": f"Bearer {settings.management_token}"}
    url = f"{settings.public_url}/management/transfers/{transfer['id']}/data"
    for _ in range(2):  # two reads
        answer = httpx.get(url, headers=headers, timeout=30)
        assert answer.status_code == 200, answer.text
        assert len(answer.content) == size
    page.goto(space.url("c", "/console/transfers"))
    deadline = time.monotonic() + 10
    cell = page.locator("#transfers tr").filter(has_text=transfer["id"]).locator("td.moved")
    while "(2)" not in cell.inner_text():  # the audit entries are written as the reads end
        assert time.monotonic() < deadline, cell.inner_text()
        page.reload()
    assert f"{2 * size / 1000:.1f} KB" in cell.inner_text()
    page.locator("#transfers tr").filter(has_text=transfer["id"]).locator("a").click()
    page.wait_for_selector("#moved")
    assert page.locator("#moved").get_attribute("data-bytes") == str(2 * size)
    assert page.locator("#reads").inner_text() == "2"
    page.screenshot(path=str(artifacts / "transfer.png"), full_page=True)

    page.goto(space.url("b", "/console/login"))  # the provider counts what it sent
    log_in(page, space, "b")
    page.goto(space.url("b", "/console/transfers"))
    sent = page.locator("#transfers td.moved").first.inner_text()
    assert f"{2 * size / 1000:.1f} KB (2)" in sent


def test_the_dataset_page_refuses_what_it_must(space: Space, tmp_path: Path) -> None:
    offer = {"@type": "Offer", "@id": "urn:offer:open", "permission": [{"action": "use"}]}
    _publish(space, tmp_path, DATASET, offer)
    with logged_in(space, "b") as client:
        missing = client.get("/console/dataset", params={"id": "urn:tsunagu:dataset:b:nope"})
        assert missing.status_code == 404 and 'role="alert"' in missing.text
        forged = client.post(
            "/console/dataset/edit", data={"id": DATASET, "title": "changed", "csrf": "guess"}
        )
        assert forged.status_code == 403
        assert client.get(f"/console/dataset/edit?id={DATASET}&title=x").status_code == 405
        assert call(space, "b", "GET", f"/datasets/{DATASET}")["title"] == "水位 CSV"
        page = client.get("/console/dataset", params={"id": DATASET})
        csrf = csrf_of(client, f"/console/dataset?id={DATASET}")
        assert 'name="back" value="/console/dataset?id=' in page.text  # the switch comes back here
        switched = client.post(
            "/console/lang",
            data={"csrf": csrf, "lang": "en", "back": f"/console/dataset?id={DATASET}"},
        )
        assert switched.status_code == 303
        assert switched.headers["location"] == f"/console/dataset?id={DATASET}"
        english = client.get(switched.headers["location"])
        assert "any participant with a trusted credential" in english.text
