"""The policy monitor resumes what it suspended: an offer that holds only during a flood
alert is suspended when the alert is over and resumed (the provider's DSP start message, a
fresh data address) when the alert is back; unless the offer's owner keeps that for the
operator (`resume = "hold"`), and never a suspension the consumer made."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from connector.demo.localspace import LocalDataspace

from .conftest import Pull, offer, provider_started
from .test_policy_wiring import (
    STATION,
    alert,
    basin,
    events_of,
    levels,
    negotiate,
    transfer,
)

__all__ = ["levels"]

pytestmark = pytest.mark.anyio


async def alert_pull(
    space: LocalDataspace, address: dict[str, Any], examples: Path, *, resume: str | None
) -> Pull:
    """A pull transfer under an offer that holds only while an alert of level 2 is in force
    at the station, started during such an alert."""
    policy = space["provider"].connector.policy
    assert policy is not None
    policy.use_geography(basin(examples, "204323"))
    provider = space["provider"].client
    dataset = f"urn:ds:resume:{resume}"
    entry: dict[str, Any] = {"policy": offer(f"{dataset}:offer", alert(2, STATION))}
    if resume is not None:
        entry["steps"] = {"resume": resume}
    await provider.call(
        "POST",
        "/datasets",
        json={"id": dataset, "title": "水位", "data_address": address, "offers": [entry]},
    )
    await provider.call("PUT", "/alerts", json={"area": STATION, "level": 2})
    agreed = await negotiate(space, dataset)
    assert agreed["state"] == "FINALIZED", agreed
    record = await transfer(space, agreed["agreement_id"])
    assert record["state"] == "STARTED", record
    pull = Pull(
        space,
        record["id"],
        record["data_address"]["endpoint"].rsplit("/data/", 1)[1],
        agreed["agreement_id"],
        record["data_address"],
    )
    await provider_started(space, pull)
    return pull


async def suspended_by_the_monitor(space: LocalDataspace, pull: Pull) -> None:
    await space["provider"].client.call("PUT", "/alerts", json={"area": STATION, "level": 0})
    consumer = space["consumer"].client
    record = await consumer.wait_for("transfers", pull.consumer_id, ["SUSPENDED"], timeout=20)
    assert "alert_not_in_force" in json.dumps(record)
    await space["provider"].client.wait_for(
        "transfers", pull.provider_id, ["SUSPENDED"], timeout=20
    )


async def read(address: dict[str, Any]) -> httpx.Response:
    token = next(p["value"] for p in address["endpointProperties"] if p["name"] == "authorization")
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.get(
            address["endpoint"],
            headers={"Authorization": f"Bearer {token}", "Accept-Encoding": "identity"},
        )


async def test_the_alert_back_resumes_the_transfer(
    space: LocalDataspace, levels: dict[str, Any], examples: Path
) -> None:
    pull = await alert_pull(space, levels, examples, resume=None)
    assert (await pull.get()).status_code == 200
    await suspended_by_the_monitor(space, pull)
    assert (await pull.get()).status_code == 403
    monitor = space["provider"].connector.monitor
    assert monitor is not None
    assert await monitor.run_once() == 0  # the alert is still over: it stays suspended
    await space["provider"].client.call("PUT", "/alerts", json={"area": STATION, "level": 3})
    consumer = space["consumer"].client
    resumed = await consumer.wait_for("transfers", pull.consumer_id, ["STARTED"], timeout=20)
    assert resumed["state"] == "STARTED"
    await provider_started(space, pull)  # the consumer's ACK recorded: the resume was sent
    provider_events = await events_of(space, "provider", "transfers", pull.provider_id)
    starts = [e for e in provider_events if e.get("message") == "START"]
    assert len(starts) == 2, provider_events  # the first start and the resume, both sent
    response = await read(resumed["data_address"])
    assert response.status_code == 200, response.text
    assert "上流" in response.text


async def test_the_owner_may_keep_resuming_for_the_operator(
    space: LocalDataspace, levels: dict[str, Any], examples: Path
) -> None:
    pull = await alert_pull(space, levels, examples, resume="hold")
    await suspended_by_the_monitor(space, pull)
    await space["provider"].client.call("PUT", "/alerts", json={"area": STATION, "level": 3})
    monitor = space["provider"].connector.monitor
    assert monitor is not None
    assert await monitor.run_once() == 0
    record = await space["provider"].client.call("GET", f"/transfers/{pull.provider_id}")
    assert record["state"] == "SUSPENDED"


async def test_a_consumers_suspension_is_not_lifted_by_the_monitor(
    space: LocalDataspace, levels: dict[str, Any], examples: Path
) -> None:
    pull = await alert_pull(space, levels, examples, resume=None)
    consumer = space["consumer"].client
    await consumer.call(
        "POST", f"/transfers/{pull.consumer_id}/suspend", json={"reason": "paused here"}
    )
    await space["provider"].client.wait_for(
        "transfers", pull.provider_id, ["SUSPENDED"], timeout=20
    )
    monitor = space["provider"].connector.monitor
    assert monitor is not None
    assert await monitor.run_once() == 0  # the alert holds, but the pause is the consumer's
    record = await space["provider"].client.call("GET", f"/transfers/{pull.provider_id}")
    assert record["state"] == "SUSPENDED"
