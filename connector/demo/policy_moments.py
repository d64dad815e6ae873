"""`tsunagu demo`'s policy moments: the owners' rules decided, with their reasons, at the
moment they apply.

- C村 asks A市 for its disaster-response data for `marketing`: refused, and told why; asked
  for disaster response, it is agreed.
- B町 offers its gauge only while a flood alert (警戒レベル2 or higher) is in force at its
  station. B町's own basin watch classifies its own gauge readings on the MLIT ladder and feeds
  its connector's alert state: before the river reaches 氾濫注意水位 C村 is refused, once it has,
  C村 is agreed.
- D社, a company, sells C村 three requests: the fourth read is refused.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import httpx

from connector.demo import basin_watch
from connector.demo import sources as demo_sources
from connector.errors import ConnectorError
from policies.geography import BASIN as BASIN_IRIS
from policies.geography import Geography
from policies.templates import commercial_contract, disaster_response

if TYPE_CHECKING:
    from connector.demo.localspace import LocalDataspace
    from connector.demo.scenario import Steps
    from vocab.stations import Station

BASIN = BASIN_IRIS + "tsunagu-river"
RIVER = "繋川"
PURPOSE = "https://w3id.org/tsunagu/vocab/purpose/"
B_STATION = "https://w3id.org/tsunagu/id/station/tsunagu-river/churyu-ohashi"
MEMBERS = ("202151", "203831", "204323")  # A市, B町, C村 as their credentials state them


async def run(
    space: LocalDataspace, steps: Steps, stations: Mapping[str, Station], now: datetime
) -> None:
    geography = Geography.from_stations(stations, {RIVER: BASIN}, members={BASIN: MEMBERS})
    for key in ("a", "b"):
        policy = space[key].connector.policy
        if policy is not None:
            policy.use_geography(geography)
    await _purpose(space, steps)
    await _alert(space, steps, stations, now)
    await _count(space, steps, now)


# -- C村 asks for marketing -----------------------------------------------------------------------


async def _purpose(space: LocalDataspace, steps: Steps) -> None:
    a, c = space["a"], space["c"]
    offer = disaster_response("urn:tsunagu:offer:202151:basin-disaster-response-only", basin=BASIN)
    dataset = "urn:tsunagu:dataset:202151:rainfall"
    await steps.run(
        "A市 publishes rainfall for disaster response by basin municipalities (no onward transfer)",
        lambda: _publish(space, "a", dataset, "A市 雨量", offer.to_json()),
    )
    terms = offer.to_json()
    terms["target"] = dataset
    marketing = json.loads(json.dumps(terms))
    for c_ in marketing["permission"][0]["constraint"]:
        if c_["leftOperand"] == "purpose":
            c_["operator"], c_["rightOperand"] = "eq", {"@id": PURPOSE + "marketing"}

    async def ask_for_marketing() -> list[str]:
        record = await _negotiate(space, a.did, dataset, marketing)
        if record["state"] != "TERMINATED":
            raise ConnectorError("C村's request for marketing was not refused")
        return _reasons(record)

    reasons = await steps.run(
        "C村 asks A市 for the rainfall for marketing: refused", ask_for_marketing
    )
    for line in reasons:
        click.echo(f"      reason: {line}")

    async def ask_for_disaster_response() -> dict[str, Any]:
        record = await _negotiate(space, a.did, dataset, terms)
        if record["state"] != "FINALIZED":
            raise ConnectorError(f"disaster response was not agreed: {_reasons(record)}")
        return record

    record = await steps.run(
        "C村 asks for disaster response instead: agreed", ask_for_disaster_response
    )
    agreement = await c.client.call("GET", f"/agreements/{record['agreement_id']}")
    prohibited = [p["action"] for p in agreement["policy"].get("prohibition", [])]
    click.echo(f"      agreement {record['agreement_id']}; prohibited: {', '.join(prohibited)}")


# -- B町's offer that holds only during an alert -------------------------------------------------


async def _alert(
    space: LocalDataspace, steps: Steps, stations: Mapping[str, Station], now: datetime
) -> None:
    b = space["b"]
    offer = disaster_response(
        "urn:tsunagu:offer:203831:during-flood-alert",
        basin=BASIN,
        alert_level=2,
        alert_area=B_STATION,
    )
    dataset = "urn:tsunagu:dataset:203831:river-camera"
    await steps.run(
        "B町 publishes its river camera for basin municipalities while 警戒レベル2+ is in force",
        lambda: _publish(space, "b", dataset, "B町 河川カメラ", offer.to_json()),
    )
    terms = offer.to_json()
    terms["target"] = dataset
    readings = demo_sources.b_town_observations(now)
    policy = b.connector.policy
    if policy is None:
        raise ConnectorError("B町's connector has no policy environment")

    async def watch(upto: int) -> str:
        text = json.dumps({"river": RIVER, "observations": readings[:upto]}, ensure_ascii=False)
        report = await asyncio.to_thread(basin_watch.convert, "b", text, stations)
        # each change of level is audited: store work, run the way the store runs it
        await b.connector.store.call(policy.alerts.observe, report.classifications)
        latest = basin_watch.latest_by_station(report)
        return latest[-1].text() if latest else "no readings"

    early = len(readings) // 2
    line = await steps.run(
        "B町's basin watch classifies its gauge an hour ago", lambda: watch(early)
    )
    click.echo(f"      {line}")

    async def refused() -> list[str]:
        record = await _negotiate(space, b.did, dataset, terms)
        if record["state"] != "TERMINATED":
            raise ConnectorError("B町's offer was agreed before any alert")
        return _reasons(record)

    for reason in await steps.run("C村 asks for the camera before the alert: refused", refused):
        click.echo(f"      reason: {reason}")
    line = await steps.run(
        "B町's basin watch classifies its latest readings", lambda: watch(len(readings))
    )
    click.echo(f"      {line}")

    async def agreed() -> dict[str, Any]:
        record = await _negotiate(space, b.did, dataset, terms)
        if record["state"] != "FINALIZED":
            raise ConnectorError(f"not agreed during the alert: {_reasons(record)}")
        return record

    record = await steps.run("C村 asks again during the alert: agreed", agreed)
    click.echo(f"      agreement {record['agreement_id']}")


# -- a company's three requests --------------------------------------------------------------------


async def _count(space: LocalDataspace, steps: Steps, now: datetime) -> None:
    async def join() -> Any:
        return await space.add("d", "D社 (気象情報サービス)", role="company")

    d = await steps.run("D社, a weather company, joins the data space", join)
    c = space["c"]
    offer = commercial_contract(
        "urn:tsunagu:offer:d:forecast-3-requests",
        participant=c.did,
        start=now - timedelta(hours=1),
        end=now + timedelta(days=90),
        requests=3,
        price=30000,
    )
    dataset = "urn:tsunagu:dataset:d:rain-forecast"
    path = Path(d.settings.directory) / "forecast.csv"
    path.write_text("area,rain_mm_next_hour\n繋川上流,42\n")
    await steps.run(
        "D社 offers C村 its rain forecast: 90 days, 3 requests, ¥30,000, no onward transfer",
        lambda: _publish(
            space,
            "d",
            dataset,
            "D社 降水予測",
            offer.to_json(),
            {"type": "file", "path": str(path)},
        ),
    )
    terms = offer.to_json()
    terms["target"] = dataset

    async def contract() -> Any:
        record = await _negotiate(space, d.did, dataset, terms)
        if record["state"] != "FINALIZED":
            raise ConnectorError(f"the contract was not agreed: {_reasons(record)}")
        started = await c.client.call(
            "POST", "/transfers", json={"agreement_id": record["agreement_id"]}
        )
        done = await c.client.wait_for("transfers", started["id"], ["STARTED"], timeout=30)
        if done["state"] != "STARTED":
            raise ConnectorError(f"the transfer ended {done['state']}")
        return done

    transfer = await steps.run("C村 signs the contract and starts a transfer", contract)

    async def four_reads() -> list[str]:
        settings = c.settings
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{settings.port}/management",
            headers={"Authorization": f"Bearer {settings.management_token}"},
            timeout=30,
        ) as http:
            statuses = []
            for _ in range(4):
                response = await http.get(f"/transfers/{transfer['id']}/data")
                statuses.append(response)
        codes = [r.status_code for r in statuses]
        if codes != [200, 200, 200, 403]:
            raise ConnectorError(f"the reads answered {codes}, not 200 200 200 403")
        error = statuses[-1].json()["error"]
        return [f"reads 1-3: 200; read 4: 403 {error['code']}: {error['message']}"]

    for line in await steps.run("C村 reads the forecast four times", four_reads):
        click.echo(f"      {line}")


# -- helpers -------------------------------------------------------------------------------------


async def _publish(
    space: LocalDataspace,
    key: str,
    dataset: str,
    title: str,
    policy: dict[str, Any],
    address: dict[str, Any] | None = None,
) -> Any:
    if address is None:  # the owner's own folder (B町 publishes its MQTT gauge elsewhere)
        folder = Path(space.root) / f"{key}-owner"
        folder.mkdir(parents=True, exist_ok=True)
        address = {"type": "file", "path": str(folder)}
    source = address
    return await space[key].client.call(
        "POST",
        "/datasets",
        json={
            "id": dataset,
            "title": title,
            "data_address": source,
            "offers": [{"policy": policy}],
        },
    )


async def _negotiate(
    space: LocalDataspace, provider: str, dataset: str, offer: dict[str, Any]
) -> dict[str, Any]:
    c = space["c"].client
    started = await c.call(
        "POST", "/negotiations", json={"provider": provider, "dataset_id": dataset, "offer": offer}
    )
    record: dict[str, Any] = await c.wait_for(
        "negotiations", started["id"], ["FINALIZED", "TERMINATED"], timeout=30
    )
    return record


def _reasons(record: Mapping[str, Any]) -> list[str]:
    """The reasons the provider gave with its termination."""
    for event in reversed(record.get("events", [])):
        reasons = event.get("detail", {}).get("reason")
        if reasons:
            return [str(r) for r in reasons]
    return [str(record.get("last_error") or "no reason given")]
