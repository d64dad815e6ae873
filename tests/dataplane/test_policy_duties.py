"""Duties tracked: `attribute` travels with the data (header and the fetched file's
metadata), `inform` notifies the owner's connector on every use, `delete` after N days is
recorded when `tsunagu fetch` stores the data and fulfilled (and confirmed) when due."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from click.testing import CliRunner

from connector.cli import main
from connector.clock import ManualClock
from connector.demo.localspace import LocalDataspace

from .conftest import start_pull

pytestmark = pytest.mark.anyio


@pytest.fixture
def levels(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "levels.csv"
    path.write_text("station,level\n上流,1.42\n")
    return {"type": "file", "path": str(path)}


def with_duties(offer_id: str, *duties: dict[str, Any]) -> dict[str, Any]:
    return {
        "@type": "Offer",
        "@id": offer_id,
        "permission": [{"action": "use", "duty": list(duties)}],
    }


async def read_through_consumer(space: LocalDataspace, transfer_id: str) -> Any:
    consumer = space["consumer"].client
    response = await consumer._http.get(
        f"{consumer.base_url}/management/transfers/{transfer_id}/data", headers=consumer._headers
    )
    return response


async def test_attribution_travels_in_a_header_to_the_consumer(
    space: LocalDataspace, levels: dict[str, Any]
) -> None:
    pull = await start_pull(space, levels, with_duties("urn:offer:cc-by", {"action": "attribute"}))
    direct = await pull.get()
    assert direct.headers["Tsunagu-Attribution"].endswith(f" by {space['provider'].did}")
    through = await read_through_consumer(space, pull.consumer_id)
    assert through.status_code == 200
    assert through.headers["Tsunagu-Attribution"] == direct.headers["Tsunagu-Attribution"]
    plain = await start_pull(
        space, levels, dataset="urn:ds:plain"
    )  # an agreement owing no attribution names none
    assert "Tsunagu-Attribution" not in (await plain.get()).headers


async def test_inform_notifies_the_owner_on_every_use_and_both_record_it(
    space: LocalDataspace, levels: dict[str, Any]
) -> None:
    pull = await start_pull(space, levels, with_duties("urn:offer:inform", {"action": "inform"}))
    for _ in range(2):
        assert (await read_through_consumer(space, pull.consumer_id)).status_code == 200
    notices = space["consumer"].connector.notices
    assert notices is not None
    await notices.settle()
    provider = await space["provider"].client.call("GET", f"/agreements/{pull.agreement_id}/duties")
    consumer = await space["consumer"].client.call("GET", f"/agreements/{pull.agreement_id}/duties")
    [owner_view] = provider["duties"]
    [consumer_view] = consumer["duties"]
    assert owner_view["action"] == consumer_view["action"] == "inform"
    received = [r for r in owner_view["records"] if r["role"] == "provider"]
    sent = [r for r in consumer_view["records"] if r["role"] == "consumer"]
    assert len(received) == len(sent) == 2
    assert all(r["detail"]["acknowledged"] for r in sent)
    assert {r["detail"]["from"] for r in received} == {space["consumer"].did}
    assert consumer["open"] == ["inform"]  # owed at every use, never done with


async def test_delete_after_n_days_is_recorded_by_fetch_and_fulfilled_when_due(
    timed: LocalDataspace, clock: ManualClock, levels: dict[str, Any], tmp_path: Path
) -> None:
    duty = {
        "action": "delete",
        "constraint": [{"leftOperand": "elapsedTime", "operator": "eq", "rightOperand": "P30D"}],
    }
    pull = await start_pull(
        timed, levels, with_duties("urn:offer:delete", duty, {"action": "attribute"})
    )
    consumer = timed["consumer"]
    output = tmp_path / "fetched.csv"
    result = await anyio.to_thread.run_sync(
        lambda: CliRunner().invoke(
            main,
            ["fetch", str(consumer.settings.directory), pull.consumer_id, "--output", str(output)],
        )
    )
    assert result.exit_code == 0, result.output
    assert output.read_text().startswith("station,level")
    metadata = json.loads(output.with_name("fetched.csv.tsunagu.json").read_text())
    assert metadata["attribution"].endswith(f" by {timed['provider'].did}")
    due = clock() + timedelta(days=30)
    assert metadata["delete_by"] == due.isoformat()
    listed = await consumer.client.call("GET", f"/agreements/{pull.agreement_id}/duties")
    assert "delete" in listed["open"]
    clock.advance(30 * 86400 - 1)
    assert (await consumer.client.call("POST", "/duties/sweep"))["fulfilled"] == 0
    assert output.exists()
    clock.advance(1)
    assert (await consumer.client.call("POST", "/duties/sweep"))["fulfilled"] == 1
    assert not output.exists() and not output.with_name("fetched.csv.tsunagu.json").exists()
    listed = await consumer.client.call("GET", f"/agreements/{pull.agreement_id}/duties")
    [delete] = [d for d in listed["duties"] if d["action"] == "delete"]
    assert delete["state"] == "fulfilled"
    assert delete["records"][0]["detail"]["deleted"] is True
    assert "delete" not in listed["open"]
