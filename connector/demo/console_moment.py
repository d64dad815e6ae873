"""`tsunagu demo --console`: after the story, the basin keeps running for a person to look at.

C村's connector is restarted with both neighbours' water levels on its flood dashboard (the same
mappings and station files the demo converts with); B町's gauge keeps publishing a rising river
on MQTT, one reading every few seconds, so the dashboard moves while you watch. Each console's
URL and login token is printed; Ctrl-C stops everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import signal
from datetime import datetime, timedelta
from typing import Any

import aiomqtt
import click

from connector.demo import basin_watch
from connector.demo import sources as demo_sources
from connector.demo.localspace import LocalDataspace
from connector.settings import write_settings

LIVE_INTERVAL = 3.0  # seconds between B町's live readings while the console runs


def feeds(codes: dict[str, str]) -> tuple[dict[str, object], ...]:
    """C村's dashboard: A市's and B町's water-level datasets, read through its transfers."""
    return tuple(
        {
            "dataset": f"urn:tsunagu:dataset:{codes[key]}:river-water-level",
            "mapping": str(basin_watch.example_file(basin_watch.MAPPINGS[key])),
            "stations": [str(basin_watch.example_file(n)) for n in basin_watch.STATION_FILES],
        }
        for key in ("a", "b")
    )


async def keep_serving(
    basin: LocalDataspace, codes: dict[str, str], mqtt: dict[str, Any] | None
) -> None:
    settings = dataclasses.replace(basin["c"].settings, dashboard_feeds=feeds(codes))
    write_settings(settings)
    await basin.stop("c")
    await basin.serve("c", settings)
    click.echo("\nthe basin keeps running; open a console (Ctrl-C stops everything):")
    for key in ("a", "b", "c"):
        p = basin[key]
        click.echo(f"  {p.settings.name}: {p.settings.public_url}/console")
        click.echo(f"      login token: {p.settings.management_token}")
    click.echo(f"  C村's flood dashboard: {basin['c'].settings.public_url}/console/river")
    gauge = asyncio.create_task(_rising_gauge(mqtt, basin.clock())) if mqtt else None
    # Ctrl-C or a plain `kill`: our own handlers, so that a shell which started us in the
    # background (and so made us ignore SIGINT) cannot leave the basin running.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
        click.echo("\nstopping the basin ...")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        if gauge is not None:
            gauge.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await gauge


async def _rising_gauge(source: dict[str, Any], start: datetime) -> None:
    """B町's gauge, live: the river keeps rising past its thresholds, ten minutes a step."""
    topic = str(source["topic"]).removesuffix("/#") + "/" + demo_sources.B_TOWN_STATION
    now = demo_sources.reading_times(start)[-1]
    level = demo_sources.B_TOWN_LEVELS[1]
    with contextlib.suppress(aiomqtt.MqttError, OSError):
        async with aiomqtt.Client(demo_sources.MQTT_HOST, demo_sources.MQTT_PORT) as client:
            while True:
                now += timedelta(minutes=10)
                level = round(level + 0.12, 2)
                reading = {
                    "stationId": demo_sources.B_TOWN_STATION,
                    "observedAt": now.isoformat(),
                    "waterLevel": {"value": level, "unit": "m"},
                }
                await client.publish(topic, json.dumps(reading))
                await asyncio.sleep(LIVE_INTERVAL)
