"""`tsunagu demo`: one river basin on this machine.

An authority (the basin council's dataspace authority) and three municipalities: A市 upstream
and B町 mid-stream publish their river water-level data; C村 downstream discovers it,
negotiates "disaster response by basin municipalities" and starts transfers. A市 sends its
telemetry CSV (和暦 dates, centimetres) and B町 its gauge's JSON (ISO 8601, metres); C村 converts
both into the shared model with each neighbour's mapping and classifies every water level
against its station's thresholds. Everything runs over real HTTP on loopback, with real keys,
tokens and databases, in a temporary directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from connector.demo import (
    audit_moment,
    basin_watch,
    consent_moment,
    console_moment,
    policy_moments,
)
from connector.demo import sources as demo_sources
from connector.demo.catalog_moment import catalog_moment
from connector.demo.localspace import LocalDataspace, Participant
from connector.errors import ConnectorError

if TYPE_CHECKING:
    from vocab.flood import FloodWatchReport
    from vocab.stations import Station

T = TypeVar("T")
BASIN = "urn:tsunagu:council:tsunagu-river-basin"
THEME_WATER_LEVEL = "https://w3id.org/tsunagu/vocab/theme/river-water-level"


@dataclass(frozen=True)
class Municipality:
    key: str
    name: str
    code: str
    river_station: str


MUNICIPALITIES = (
    Municipality("a", "A市", "202151", "上流橋・中島"),
    Municipality("b", "B町", "203831", "中流大橋"),
    Municipality("c", "C村", "204323", "下流観測所"),
)


def basin_offer(owner: str) -> dict[str, Any]:
    """Use for disaster response, by municipalities that belong to the basin council."""
    return {
        "@type": "Offer",
        "@id": f"urn:tsunagu:offer:{owner}:basin-disaster-response",
        "permission": [
            {
                "action": "use",
                "constraint": [
                    {
                        "and": [
                            {
                                "leftOperand": "role",
                                "operator": "eq",
                                "rightOperand": "municipality",
                            },
                            {
                                "leftOperand": "memberships",
                                "operator": "hasPart",
                                "rightOperand": BASIN,
                            },
                        ]
                    }
                ],
            }
        ],
    }


class Steps:
    """Prints numbered steps with their duration; remembers whether all succeeded."""

    def __init__(self) -> None:
        self.number = 0
        self.failed = False

    async def run(self, title: str, action: Callable[[], Awaitable[T]]) -> T:
        self.number += 1
        click.echo(f"[{self.number:>2}] {title} ...", nl=False)
        started = time.perf_counter()
        try:
            result = await action()
        except (ConnectorError, OSError) as exc:
            self.failed = True
            click.echo(click.style(f" failed: {exc}", fg="red"))
            raise
        click.echo(
            click.style(f" ok ({(time.perf_counter() - started) * 1000:.0f} ms)", fg="green")
        )
        return result


async def run_demo(keep: Path | None = None, *, console: bool = False) -> bool:
    steps = Steps()
    with _workspace(keep) as root:
        click.echo(f"tsunagu demo: a river basin in {root}\n")
        try:
            async with _basin(root, steps) as basin:
                sources = await _story(basin, steps)
                if console and not steps.failed:
                    live = sources["b"] if sources["b"]["type"] == "mqtt" else None
                    codes = {m.key: m.code for m in MUNICIPALITIES}
                    await console_moment.keep_serving(basin, codes, live)
        except (ConnectorError, OSError):
            return False
    click.echo(click.style("\nevery step succeeded", fg="green", bold=True))
    return not steps.failed


@contextlib.contextmanager
def _workspace(keep: Path | None) -> Any:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="tsunagu-demo-") as tmp:
        yield Path(tmp)


@contextlib.asynccontextmanager
async def _basin(root: Path, steps: Steps) -> AsyncIterator[LocalDataspace]:
    async with LocalDataspace(root) as space:
        await steps.run(
            "start the basin's dataspace authority",
            lambda: space.start_authority("流域データ連携協議会 (basin council)"),
        )
        for m in MUNICIPALITIES:

            async def make(m: Municipality = m) -> Participant:
                return await space.add(
                    m.key,
                    m.name,
                    role="municipality",
                    municipality_code=m.code,
                    memberships=[BASIN],
                )

            participant = await steps.run(
                f"create {m.name} ({m.code}), get its membership credential, start its connector",
                make,
            )
            click.echo(f"      {participant.did}")
        yield space


async def _story(basin: LocalDataspace, steps: Steps) -> dict[str, dict[str, Any]]:
    c = basin["c"].client
    agreements: list[str] = []
    # The owners' own systems (data plane), each writing its own format: A市's telemetry CSV
    # export, B町's live gauge on MQTT (or its API's JSON export where no broker runs here).
    now = basin.clock()
    live = await demo_sources.mqtt_available()
    sources = {
        "a": demo_sources.a_city_export(basin.root / "a-owner", now),
        "b": demo_sources.mqtt_source()
        if live
        else demo_sources.b_town_export(basin.root / "b-owner", now),
    }
    for key in ("a", "b"):
        m = next(m for m in MUNICIPALITIES if m.key == key)
        dataset_id = f"urn:tsunagu:dataset:{m.code}:river-water-level"

        async def publish(m: Municipality = m, dataset_id: str = dataset_id, key: str = key) -> Any:
            return await basin[key].client.call(
                "POST",
                "/datasets",
                json={
                    "id": dataset_id,
                    "title": f"{m.name} 河川水位 ({m.river_station})",
                    "description": f"River water level at {m.river_station}, every 10 minutes.",
                    "keywords": ["河川水位", "water level", "flood"],
                    "themes": [THEME_WATER_LEVEL],
                    "data_address": sources[key],
                    "offers": [{"policy": basin_offer(m.code)}],
                },
            )

        await steps.run(f"{m.name} publishes its water-level dataset", publish)
        provider = basin[key].did

        async def read_catalog(provider: str = provider) -> Any:
            return await c.call("GET", "/catalog", params={"provider": provider})

        catalog = await steps.run(f"C村 reads {m.name}'s catalogue over DSP", read_catalog)
        for dataset in catalog.get("dataset", []):
            click.echo(f"      found {dataset['@id']} with {len(dataset['hasPolicy'])} offer(s)")

        async def negotiate(provider: str = provider, dataset_id: str = dataset_id) -> Any:
            started = await c.call(
                "POST", "/negotiations", json={"provider": provider, "dataset_id": dataset_id}
            )
            done = await c.wait_for("negotiations", started["id"], ["FINALIZED"], timeout=30)
            if done["state"] != "FINALIZED":
                raise ConnectorError(f"negotiation ended {done['state']}: {done.get('last_error')}")
            return done

        done = await steps.run(
            f"C村 negotiates 'disaster response by basin municipalities' with {m.name}", negotiate
        )
        click.echo(f"      agreement {done['agreement_id']}")
        agreements.append(done["agreement_id"])

    records = []
    for agreement_id in agreements:

        async def transfer(agreement_id: str = agreement_id) -> Any:
            started = await c.call("POST", "/transfers", json={"agreement_id": agreement_id})
            done = await c.wait_for("transfers", started["id"], ["STARTED"], timeout=30)
            if done["state"] != "STARTED":
                raise ConnectorError(f"transfer ended {done['state']}: {done.get('last_error')}")
            return done

        record = await steps.run("C村 starts a pull transfer under the agreement", transfer)
        click.echo(f"      data endpoint {record['data_address']['endpoint']}")
        records.append(record)

    await catalog_moment(
        basin,
        steps,
        {
            k: f"urn:tsunagu:dataset:{m.code}:river-water-level"
            for m in MUNICIPALITIES
            if (k := m.key) != "c"
        },
    )
    await _watch(basin, steps, sources, records, now)
    await consent_moment.run(basin, steps)  # personal data: only residents who opted in
    await audit_moment.run(basin, steps)
    return sources


async def _watch(
    basin: LocalDataspace,
    steps: Steps,
    sources: dict[str, dict[str, Any]],
    transfers: list[Any],
    now: datetime,
) -> None:
    """C村 reads each neighbour's data as sent, converts it into the shared model with that
    neighbour's mapping and classifies every water level against its station's thresholds."""

    async def load_stations() -> Mapping[str, Station]:
        return await asyncio.to_thread(basin_watch.basin_stations)

    stations = await steps.run("C村 loads the basin's stations and their thresholds", load_stations)
    names = [f"{s.name_ja} ({s.code})" for s in sorted(stations.values(), key=lambda s: s.code)]
    click.echo("      " + ", ".join(names))
    reports: dict[str, FloodWatchReport] = {}
    for key, record in zip(("a", "b"), transfers, strict=True):
        m = next(m for m in MUNICIPALITIES if m.key == key)

        async def receive(key: str = key, record: Any = record) -> str:
            return await demo_sources.receive(basin["c"].settings, record["id"], sources[key], now)

        text = await steps.run(
            f"C村 receives {m.name}'s readings from {SENT_AS[key, sources[key]['type']]} "
            "through the data plane",
            receive,
        )
        for line in demo_sources.newest_as_sent(text):
            click.echo(f"      as sent: {line}")

        async def convert(key: str = key, text: str = text) -> FloodWatchReport:
            return await asyncio.to_thread(basin_watch.convert, key, text, stations)

        reports[m.name] = await steps.run(
            f"C村 converts them with {m.name}'s mapping and classifies each water level", convert
        )
        for line in basin_watch.report_lines(reports[m.name]):
            click.echo(f"      {line}")

    async def check() -> list[str]:
        return basin_watch.one_model(reports)

    lines = await steps.run("C村 has every reading in one model: one unit, one time form", check)
    for line in lines:
        click.echo(f"      {line}")
    await policy_moments.run(basin, steps, stations, now)  # the owners' rules, with reasons


SENT_AS = {
    ("a", "file"): "its telemetry CSV export (和暦, cm)",
    ("b", "mqtt"): "its live gauge (MQTT JSON, ISO 8601, m)",
    ("b", "file"): "its API's JSON export (ISO 8601, m)",
}
