"""The console's lists are paged and filterable: negotiations and transfers by state and role,
the audit timeline by any text of an entry; every pager link keeps the filter."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from connector.console.web import PAGE
from tests.console.conftest import Space
from tests.console.support import call, logged_in

DATASET = "urn:tsunagu:dataset:b:paged"


def _rows(client: httpx.Client, path: str, table: str) -> list[str]:
    page = client.get(path)
    assert page.status_code == 200, page.text
    body = page.text.split(f'<table id="{table}"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<tr data-id="([^"]+)"', body)


def _links(client: httpx.Client, path: str) -> list[str]:
    pager = client.get(path).text.split('class="pager"', 1)[1].split("</nav>", 1)[0]
    return [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]+)"', pager)]


def _agreements(space: Space, tmp_path: Path, count: int) -> list[str]:
    data = tmp_path / "levels.csv"
    data.write_text("station,level\nB-01,1.20\n")
    body = {
        "id": DATASET,
        "title": "水位",
        "data_address": {"type": "file", "path": str(data)},
        "offers": [{"policy": {"permission": [{"action": "use"}]}}],
    }
    call(space, "b", "POST", "/datasets", json=body)
    ask = {"provider": space["b"].did, "dataset_id": DATASET}
    started = [call(space, "c", "POST", "/negotiations", json=ask)["id"] for _ in range(count)]
    c = space["c"].client
    return [
        space.run(lambda pid=pid: c.wait_for("negotiations", pid, ["FINALIZED"]))["agreement_id"]
        for pid in started
    ]


def test_negotiations_and_transfers_are_paged_and_filtered(space: Space, tmp_path: Path) -> None:
    agreements = _agreements(space, tmp_path, PAGE + 1)
    with logged_in(space, "c") as client:
        first = _rows(client, "/console/negotiations", "negotiations")
        assert len(first) == PAGE
        assert _links(client, "/console/negotiations") == [f"?offset={PAGE}"]
        rest = _rows(client, f"/console/negotiations?offset={PAGE}", "negotiations")
        assert len(rest) == 1 and not set(rest) & set(first)
        assert _links(client, f"/console/negotiations?offset={PAGE}") == ["?offset=0"]

        assert _rows(client, "/console/negotiations?role=provider", "negotiations") == []
        mine = "/console/negotiations?role=consumer&state=FINALIZED"
        assert len(_rows(client, mine, "negotiations")) == PAGE
        assert _links(client, mine) == [f"?offset={PAGE}&state=FINALIZED&role=consumer"]
        assert _rows(client, "/console/negotiations?state=TERMINATED", "negotiations") == []

        transfers = [
            call(space, "c", "POST", "/transfers", json={"agreement_id": a})["id"]
            for a in agreements[:3]
        ]
        for pid in transfers:
            space.run(lambda pid=pid: space["c"].client.wait_for("transfers", pid, ["STARTED"]))
        call(space, "c", "POST", f"/transfers/{transfers[1]}/suspend", json={})
        assert set(_rows(client, "/console/transfers", "transfers")) == set(transfers)
        assert _rows(client, "/console/transfers?state=SUSPENDED", "transfers") == [transfers[1]]
        assert _rows(client, "/console/transfers?role=provider", "transfers") == []
        # bad filter values are no error: an unknown role is ignored, a bad offset is the start
        assert set(_rows(client, "/console/transfers?role=x&offset=-3", "transfers")) == set(
            transfers
        )

        # the audit timeline: newest first, paged by sequence, filtered by text
        timeline = client.get("/console/audit").text
        size = int(re.findall(r'<span id="size">(\d+)</span>', timeline)[0])
        assert size > 2 * PAGE
        seqs = [int(s) for s in re.findall(r"<tr>\s*<td>(\d+)</td>", timeline)]
        assert seqs == list(range(size - 1, size - 1 - PAGE, -1))
        assert _links(client, "/console/audit") == [f"?start={size - 2 * PAGE}"]
        older = client.get(f"/console/audit?start={size - 2 * PAGE}").text
        assert f"<td>{size - PAGE - 1}</td>" in older

        suspended = client.get("/console/audit", params={"q": transfers[1]}).text
        found = re.findall(r'<td class="did">([^<]*)</td>', suspended)
        assert found and transfers[1] in found and transfers[0] not in suspended
        assert "SUSPENDED" in suspended
        assert "<td>" not in client.get("/console/audit", params={"q": "no-such-text"}).text
