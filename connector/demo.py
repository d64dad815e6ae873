"""`tsunagu demo`: one river basin on this machine.

An authority (the basin council's dataspace authority) and three municipalities: A市 upstream
and B町 mid-stream publish their river water-level data; C村 downstream discovers it,
negotiates "disaster response by basin municipalities" and starts transfers. Everything runs
over real HTTP on loopback, with real keys, tokens and databases, in a temporary directory.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from connector.errors import ConnectorError
from connector.localspace import LocalDataspace, Participant

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
    Municipality("a", "A市", "202151", "上流観測所"),
    Municipality("b", "B町", "203831", "中流観測所"),
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


async def run_demo(keep: Path | None = None) -> bool:
    steps = Steps()
    with _workspace(keep) as root:
        click.echo(f"tsunagu demo: a river basin in {root}\n")
        try:
            async with _basin(root, steps) as basin:
                await _story(basin, steps)
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


async def _story(basin: LocalDataspace, steps: Steps) -> None:
    from connector.dataplane import demo_sources

    c = basin["c"].client
    agreements: list[str] = []
    # The owners' own systems (data plane): A市's database, B町's live gauges (or a CSV export
    # where no MQTT broker runs on this machine).
    now = basin.clock()
    live = await demo_sources.mqtt_available()
    sources = {
        "a": demo_sources.sqlite_source(basin.root / "a-owner", "a", now),
        "b": demo_sources.mqtt_source("b")
        if live
        else demo_sources.csv_source(basin.root / "b-owner", "b", now),
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

    for key, record in zip(("a", "b"), records, strict=True):
        m = next(m for m in MUNICIPALITIES if m.key == key)
        kind = {"sql": "its database", "mqtt": "its live gauges (MQTT)", "file": "a CSV export"}

        async def receive(key: str = key, record: Any = record) -> Any:
            return await demo_sources.latest_readings(
                basin["c"].settings, record["id"], sources[key], key, now
            )

        latest = await steps.run(
            f"C村 receives {m.name}'s readings from {kind[sources[key]['type']]} "
            "through the data plane",
            receive,
        )
        for reading in latest.values():
            click.echo(f"      {demo_sources.describe(reading)}")
