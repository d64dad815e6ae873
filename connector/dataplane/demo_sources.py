"""Owners' systems for `tsunagu demo`: real readings, generated on the spot.

A市 keeps its water levels and rainfall in an SQLite database; B町 has a live MQTT feed from its
gauges (Mosquitto on 127.0.0.1:1883) and, where no broker runs, a CSV export instead. C村 reads
both through the data plane and prints the latest reading of each station.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import math
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt
import httpx

from connector.errors import ConnectorError
from connector.settings import Settings

STATIONS = {
    "a": {"上流観測所": "water_level_m", "上流雨量計": "rainfall_mm"},
    "b": {"中流観測所": "water_level_m", "中流雨量計": "rainfall_mm"},
}
MQTT_HOST, MQTT_PORT = "127.0.0.1", 1883


def _value(kind: str, step: int, offset: float) -> float:
    if kind == "water_level_m":
        return round(1.2 + offset + 0.4 * math.sin(step / 4), 2)
    return round(max(0.0, 8 * math.sin(step / 3) + offset * 10), 1)


def _series(key: str, now: datetime) -> list[tuple[str, str, str, float]]:
    rows = []
    for offset, (station, kind) in enumerate(STATIONS[key].items()):
        for step in range(12):  # two hours, every ten minutes
            at = (now - timedelta(minutes=10 * (11 - step))).replace(second=0, microsecond=0)
            rows.append((station, at.isoformat(), kind, _value(kind, step, offset / 10)))
    return rows


def sqlite_source(directory: Path, key: str, now: datetime) -> dict[str, Any]:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "observations.db"
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute(
            "CREATE TABLE IF NOT EXISTS readings "
            "(station TEXT, observed_at TEXT, kind TEXT, value REAL)"
        )
        db.executemany("INSERT INTO readings VALUES (?, ?, ?, ?)", _series(key, now))
    return {
        "type": "sql",
        "url": f"sqlite:///{path}",
        "query": "SELECT station, observed_at, kind, value FROM readings ORDER BY observed_at",
    }


def csv_source(directory: Path, key: str, now: datetime) -> dict[str, Any]:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "readings.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["station", "observed_at", "kind", "value"])
        writer.writerows(_series(key, now))
    return {"type": "file", "path": str(path)}


def mqtt_source(key: str) -> dict[str, Any]:
    return {"type": "mqtt", "host": MQTT_HOST, "port": MQTT_PORT, "topic": topic(key) + "/#"}


def topic(key: str) -> str:
    return f"tsunagu-demo/{key}"


async def mqtt_available() -> bool:
    try:
        async with asyncio.timeout(2), aiomqtt.Client(MQTT_HOST, MQTT_PORT, timeout=2):
            return True
    except (aiomqtt.MqttError, OSError, TimeoutError):
        return False


async def _gauges(key: str, now: datetime) -> None:
    """B町's gauges: one reading per station every 200 ms, until cancelled."""
    async with aiomqtt.Client(MQTT_HOST, MQTT_PORT) as client:
        step = 12
        while True:
            for offset, (station, kind) in enumerate(STATIONS[key].items()):
                reading = {
                    "station": station,
                    "observed_at": (now + timedelta(minutes=10 * (step - 11))).isoformat(),
                    "kind": kind,
                    "value": _value(kind, step, offset / 10),
                }
                await client.publish(f"{topic(key)}/{station}", json.dumps(reading))
            step += 1
            await asyncio.sleep(0.2)


def _client(settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{settings.port}/management",
        headers={"Authorization": f"Bearer {settings.management_token}"},
        timeout=httpx.Timeout(30.0),
    )


async def _records(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    async for line in response.aiter_lines():
        if line.strip():
            yield json.loads(line)


async def latest_readings(
    consumer: Settings, transfer_id: str, source: dict[str, Any], key: str, now: datetime
) -> dict[str, dict[str, Any]]:
    """What C村 receives through the data plane: the latest reading of every station."""
    try:
        return await _latest(consumer, transfer_id, source, key, now)
    except (httpx.HTTPError, aiomqtt.MqttError, ValueError, KeyError) as exc:
        raise ConnectorError(f"reading through the data plane failed: {exc}") from exc


async def _latest(
    consumer: Settings, transfer_id: str, source: dict[str, Any], key: str, now: datetime
) -> dict[str, dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    path = f"/transfers/{transfer_id}/data"
    async with _client(consumer) as http:
        if source["type"] == "mqtt":
            gauges = asyncio.create_task(_gauges(key, now))
            try:
                async with (
                    asyncio.timeout(15),
                    http.stream(
                        "GET", path, headers={"Accept": "application/x-ndjson"}
                    ) as response,
                ):
                    response.raise_for_status()
                    async for record in _records(response):
                        reading = record.get("payload", {})
                        latest[reading["station"]] = reading
                        if len(latest) == len(STATIONS[key]):
                            break
            finally:
                gauges.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await gauges
            return latest
        response = await http.get(path, headers={"Accept": "application/x-ndjson"})
        response.raise_for_status()
        if source["type"] == "file":
            rows: list[dict[str, Any]] = list(csv.DictReader(response.text.splitlines()))
        else:
            rows = [json.loads(line) for line in response.text.splitlines() if line.strip()]
        for row in rows:
            if (
                row["station"] not in latest
                or row["observed_at"] > latest[row["station"]]["observed_at"]
            ):
                latest[row["station"]] = row
    return latest


def describe(reading: dict[str, Any]) -> str:
    unit = "m" if reading["kind"] == "water_level_m" else "mm/h"
    label = "water level" if reading["kind"] == "water_level_m" else "rainfall"
    at = str(reading["observed_at"])[11:16]
    return f"{reading['station']}: {label} {float(reading['value']):g} {unit} at {at}"
