"""Owners' systems for `tsunagu demo`: the last two hours of a rising river, in each owner's
own format, generated on the spot around the basin's clock.

A市's telemetry writes a CSV export the way its system always has: 和暦 dates (令和8年4月1日)
and times (9時10分), water levels in centimetres, hourly rain in millimetres, station numbers
0101/0102 and the 5-digit 団体コード. B町's gauge publishes one JSON document per reading on MQTT
(Mosquitto at 127.0.0.1:1883): ISO 8601 times, metres with a unit field; where no broker runs,
its API's JSON export stands in. C村 reads both through the data plane, as the owners wrote
them; converting them is C村's business (`connector.demo.basin_watch`).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import math
import secrets
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiomqtt
import httpx

from connector.errors import ConnectorError
from connector.settings import Settings

JST = timezone(timedelta(hours=9), "JST")
STEPS = 12  # two hours, every ten minutes
MQTT_HOST, MQTT_PORT = "127.0.0.1", 1883
GAUGE_INTERVAL = 0.05  # seconds between the gauge's replayed readings

# Water level in metres two hours ago -> now. The last readings cross the stations'
# thresholds (examples/vocab/*-stations.ttl): 上流橋 避難判断水位 3.40, 中島 氾濫注意水位 2.20,
# 中流大橋 氾濫注意水位 4.10.
A_CITY_LEVELS = {"0101": (1.92, 3.48), "0102": (1.38, 2.46)}
A_CITY_CODE = "08290"  # 団体コード as A市's export writes it: 5 digits, no check digit
A_CITY_DROPOUT = ("0102", 7)  # one telemeter drop-out (欠測) at this step
B_TOWN_STATION, B_TOWN_LEVELS = "B-01", (2.84, 4.18)


def reading_times(now: datetime) -> list[datetime]:
    """The ten-minute marks of the last two hours, in JST, oldest first."""
    latest = now.astimezone(JST).replace(second=0, microsecond=0)
    latest -= timedelta(minutes=latest.minute % 10)
    return [latest - timedelta(minutes=10 * (STEPS - 1 - step)) for step in range(STEPS)]


def _rising(levels: tuple[float, float], step: int) -> float:
    """A flood wave's rising limb: slow, steep, then slowing towards the last reading."""
    start, end = levels
    return start + (end - start) * (1 - math.cos(math.pi * step / (STEPS - 1))) / 2


def _rain_mm(step: int) -> int:
    return round(8 + 26 * math.sin(math.pi * step / (STEPS - 1)))


def _wareki(day: datetime) -> str:
    return f"令和{day.year - 2018}年{day.month}月{day.day}日"  # A市's system writes 令和 only


def a_city_rows(now: datetime) -> list[list[str]]:
    """A市's export: 観測所番号,観測日,観測時刻,水位 (cm),時間雨量 (mm),団体コード."""
    rows = [["観測所番号", "観測日", "観測時刻", "水位", "時間雨量", "団体コード"]]
    for step, at in enumerate(reading_times(now)):
        for code, levels in A_CITY_LEVELS.items():
            level = (
                "欠測"
                if (code, step) == A_CITY_DROPOUT
                else str(round(_rising(levels, step) * 100))
            )
            time = f"{at.hour}時{at.minute:02d}分"
            rows.append([code, _wareki(at), time, level, str(_rain_mm(step)), A_CITY_CODE])
    return rows


def a_city_export(directory: Path, now: datetime) -> dict[str, Any]:
    """A市's telemetry CSV export, published as a file source."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "telemeter-export.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out, lineterminator="\n").writerows(a_city_rows(now))
    return {"type": "file", "path": str(path)}


def b_town_observations(now: datetime) -> list[dict[str, Any]]:
    """B町's gauge readings, one JSON object each, as its API and its MQTT feed write them."""
    return [
        {
            "stationId": B_TOWN_STATION,
            "observedAt": at.isoformat(),
            "waterLevel": {"value": round(_rising(B_TOWN_LEVELS, step), 2), "unit": "m"},
        }
        for step, at in enumerate(reading_times(now))
    ]


def b_town_export(directory: Path, now: datetime) -> dict[str, Any]:
    """B町's API document, published as a file source where no MQTT broker runs."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "observations.json"
    document = {
        "publisher": "B町 建設課",
        "river": "繋川",
        "observations": b_town_observations(now),
    }
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
    return {"type": "file", "path": str(path)}


def mqtt_source() -> dict[str, Any]:
    """B町's gauge feed; a topic of its own per run, so two demos never hear each other."""
    topic = f"tsunagu-demo/{secrets.token_hex(4)}/b"
    return {"type": "mqtt", "host": MQTT_HOST, "port": MQTT_PORT, "topic": topic + "/#"}


async def mqtt_available() -> bool:
    try:
        async with asyncio.timeout(2), aiomqtt.Client(MQTT_HOST, MQTT_PORT, timeout=2):
            return True
    except (aiomqtt.MqttError, OSError, TimeoutError):
        return False


async def _gauge(source: dict[str, Any], now: datetime) -> None:
    """B町's gauge replays its last two hours, one reading every GAUGE_INTERVAL seconds."""
    topic = str(source["topic"]).removesuffix("/#") + "/" + B_TOWN_STATION
    async with aiomqtt.Client(MQTT_HOST, MQTT_PORT) as client:
        for reading in b_town_observations(now):
            await client.publish(topic, json.dumps(reading, ensure_ascii=False))
            await asyncio.sleep(GAUGE_INTERVAL)


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


async def receive(
    consumer: Settings, transfer_id: str, source: dict[str, Any], now: datetime
) -> str:
    """What C村 receives through its connector and the owner's data plane, as text in the
    owner's format: a file as it is, a live feed's payloads gathered into one JSON document."""
    try:
        async with _client(consumer) as http:
            path = f"/transfers/{transfer_id}/data"
            if source["type"] == "mqtt":
                return await _listen(http, path, source, now)
            response = await http.get(path)
            response.raise_for_status()
            return response.text
    except (httpx.HTTPError, aiomqtt.MqttError, ValueError, KeyError, TimeoutError) as exc:
        raise ConnectorError(f"reading through the data plane failed: {exc!r}") from exc


async def _listen(http: httpx.AsyncClient, path: str, source: dict[str, Any], now: datetime) -> str:
    """Listen to the live feed until the reading of the current ten minutes has arrived."""
    current = reading_times(now)[-1].isoformat()
    payloads: list[dict[str, Any]] = []
    async with (
        asyncio.timeout(15),
        http.stream("GET", path, headers={"Accept": "application/x-ndjson"}) as response,
    ):
        response.raise_for_status()
        # The answer's headers mean the owner's data plane is subscribed: the gauge may start.
        gauge = asyncio.create_task(_gauge(source, now))
        try:
            async for record in _records(response):
                payload = record["payload"]
                if not isinstance(payload, dict):
                    raise ValueError(f"a reading that is not a JSON object: {payload!r}")
                payloads.append(payload)
                if payload.get("observedAt") == current:
                    break
        finally:
            gauge.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await gauge
    return json.dumps({"observations": payloads}, ensure_ascii=False)


def newest_as_sent(text: str) -> list[str]:
    """For display: the newest reading of each station as its owner wrote it (CSV lines under
    their header, or JSON objects)."""
    if text.lstrip().startswith("{"):
        objects = json.loads(text).get("observations", [])
        newest = {str(o.get("stationId")): json.dumps(o, ensure_ascii=False) for o in objects}
        return list(newest.values())
    header, *rows = text.strip().splitlines()
    return [header, *{row.split(",", 1)[0]: row for row in rows}.values()]
