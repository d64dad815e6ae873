"""Live readings from the real Mosquitto on 127.0.0.1:1883, streamed as NDJSON or SSE."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiomqtt
import anyio
import httpx
import pytest

from connector.clock import ManualClock
from connector.demo.localspace import LocalDataspace

from .conftest import Pull, start_pull

pytestmark = pytest.mark.anyio


@pytest.fixture
def topic() -> str:
    return f"tsunagu-test/{uuid.uuid4().hex}"


def mqtt(topic: str, **extra: Any) -> dict[str, Any]:
    return {"type": "mqtt", "host": "127.0.0.1", "port": 1883, "topic": f"{topic}/#", **extra}


async def publish(topic: str, *readings: dict[str, Any]) -> None:
    async with aiomqtt.Client("127.0.0.1", 1883) as client:
        for reading in readings:
            await client.publish(topic, json.dumps(reading), qos=1)


async def lines(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    async for line in response.aiter_lines():
        if line.strip():
            yield json.loads(line)


async def stream(pull: Pull, accept: str = "application/x-ndjson") -> Any:
    http = httpx.AsyncClient(timeout=10)
    request = http.build_request(
        "GET", pull.endpoint, headers={"Authorization": f"Bearer {pull.token}", "Accept": accept}
    )
    return http, await http.send(request, stream=True)


async def test_readings_arrive_as_they_are_published_and_suspension_ends_the_stream(
    space: LocalDataspace, topic: str
) -> None:
    pull = await start_pull(space, mqtt(topic))
    http, response = await stream(pull)
    try:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-ndjson"
        await publish(f"{topic}/上流", {"level_m": 1.42}, {"level_m": 1.45})
        received = []
        async for record in lines(response):
            if record.get("event") == "end":
                assert "SUSPENDED" in record["reason"]
                break
            received.append(record)
            if len(received) == 2:
                await space["provider"].client.call(
                    "POST", f"/transfers/{pull.provider_id}/suspend", json={}
                )
        assert [r["payload"] for r in received] == [{"level_m": 1.42}, {"level_m": 1.45}]
        assert received[0]["topic"] == f"{topic}/上流"
    finally:
        await response.aclose()
        await http.aclose()


async def test_server_sent_events_through_the_consumer_connector(
    space: LocalDataspace, topic: str
) -> None:
    pull = await start_pull(space, mqtt(topic))
    consumer = space["consumer"].client
    async with consumer._http.stream(
        "GET",
        f"{consumer.base_url}/management/transfers/{pull.consumer_id}/data",
        headers={**consumer._headers, "Accept": "text/event-stream"},
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        await publish(f"{topic}/中流", {"rain_mm": 12})
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                assert json.loads(line[6:])["payload"] == {"rain_mm": 12}
                break


async def test_a_live_stream_stops_when_its_token_expires_without_refresh(
    timed: LocalDataspace, clock: ManualClock, topic: str
) -> None:
    pull = await start_pull(timed, mqtt(topic))
    http, response = await stream(pull)
    try:
        clock.advance(400)
        with anyio.fail_after(10):
            records = [r async for r in lines(response)]
        assert records[-1] == {"event": "end", "reason": "the token expired without refresh"}
    finally:
        await response.aclose()
        await http.aclose()


async def test_accumulation_serves_the_latest_readings(space: LocalDataspace, topic: str) -> None:
    pull = await start_pull(space, mqtt(topic, accumulate={"size": 2}))
    first = await pull.get()  # starts the feed; nothing buffered yet
    assert first.status_code == 200
    await publish(f"{topic}/x", {"n": 1}, {"n": 2}, {"n": 3})
    with anyio.fail_after(5):
        while True:
            body = (await pull.get()).text
            if '"n": 3' in body:
                break
            await anyio.sleep(0.05)
    assert [json.loads(line)["payload"] for line in body.splitlines()] == [{"n": 2}, {"n": 3}]


async def test_an_unreachable_broker_is_502(space: LocalDataspace) -> None:
    from connector.serving import free_port

    pull = await start_pull(
        space, {"type": "mqtt", "host": "127.0.0.1", "port": free_port(), "topic": "x"}
    )
    response = await pull.get(headers={"Accept": "application/x-ndjson"})
    assert response.status_code == 502
