"""A running push follows its transfer: a suspension or termination (by either side) cuts the
upload at once, a resume sends it again; a live MQTT source is pushed reading by reading."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import aiomqtt
import anyio
import httpx
import pytest

from connector.demo.localspace import LocalDataspace

from .conftest import agree, offer, publish
from .owner import SLOW_ONCE_CSV

pytestmark = pytest.mark.anyio


class Push:
    """A push transfer as both sides see it."""

    def __init__(self, space: LocalDataspace, consumer_id: str, sink_id: str) -> None:
        self.space = space
        self.consumer_id = consumer_id
        self.sink_id = sink_id
        self.provider_id = ""

    @property
    def sink(self) -> Path:
        return Path(self.space["consumer"].connector.dataplane.sinks.path(self.sink_id))

    @property
    def pusher(self) -> Any:
        return self.space["provider"].connector.dataplane.pusher

    async def act(self, side: str, action: str, **body: Any) -> None:
        pid = self.provider_id if side == "provider" else self.consumer_id
        await self.space[side].client.call("POST", f"/transfers/{pid}/{action}", json=body)

    async def settled(self, side: str, state: str) -> dict[str, Any]:
        pid = self.provider_id if side == "provider" else self.consumer_id
        record: dict[str, Any] = await self.space[side].client.wait_for(
            "transfers", pid, [state], timeout=20
        )
        assert record["state"] == state, record
        return record

    async def both(self, state: str) -> None:
        """Both sides settled in `state`: the side that sent the message books it delivered
        just after the other side has it, and may act on the transfer again only then."""
        await self.settled("consumer", state)
        await self.settled("provider", state)

    async def received(self) -> httpx.Response:
        consumer = self.space["consumer"].client
        return await consumer._http.get(
            f"{consumer.base_url}/management/transfers/{self.consumer_id}/data",
            headers={**consumer._headers, "Accept-Encoding": "identity"},
        )

    async def stopped_here(self) -> None:
        """The provider runs no push for this transfer any more."""
        with anyio.fail_after(5):
            while self.provider_id in self.pusher.running():
                await anyio.sleep(0.01)


async def start_push(
    space: LocalDataspace,
    dataset_id: str,
    address: dict[str, Any],
    *constraints: dict[str, Any],
    sink: dict[str, Any] | None = None,
) -> Push:
    await publish(space, dataset_id, address, offer(f"{dataset_id}:offer", *constraints))
    agreement_id = await agree(space, dataset_id)
    request = {"agreement_id": agreement_id, "format": "HttpData-PUSH"}
    if sink is not None:
        request["data_address"] = sink
    started = await space["consumer"].client.call("POST", "/transfers", json=request)
    push = Push(space, started["id"], started["data_address"]["endpoint"].rpartition("/")[2])
    with anyio.fail_after(20):
        while not push.provider_id:
            for record in await space["provider"].client.call("GET", "/transfers"):
                if record["agreement_id"] == agreement_id:
                    push.provider_id = record["id"]
            await anyio.sleep(0.02)
    return push


async def until(condition: Any, seconds: float = 10) -> None:
    with anyio.fail_after(seconds):
        while not condition():
            await anyio.sleep(0.02)


# -- a finite source, cut mid-stream ---------------------------------------------------------


async def test_suspending_cuts_a_running_push_and_resuming_sends_it_again(
    space: LocalDataspace, owner: tuple[str, dict[str, Any]]
) -> None:
    base, state = owner
    push = await start_push(
        space, "urn:test:slow", {"type": "http", "baseUrl": f"{base}/slow-once"}
    )
    part = push.sink.with_suffix(".part")
    await until(lambda: part.exists() and part.stat().st_size >= 8 * 1024)
    assert push.provider_id in push.pusher.running()

    await push.act("consumer", "suspend", reason="storage maintenance")  # over DSP
    await push.both("SUSPENDED")
    await push.stopped_here()
    # The upload was aborted: the sink dropped the partial body, the provider let go of the
    # owner's stream long before its end, and nothing arrives any more.
    # The owner's first read has no end, so it is the suspension that ended it.
    await until(lambda: not part.exists(), 5)
    await until(lambda: state.get("slow_once_closed") is True, 5)
    assert push.provider_id not in push.pusher.running() and not push.sink.exists()
    waiting = await push.received()
    assert waiting.status_code == 409 and waiting.json()["error"]["code"] == "push_not_received"
    job = push.pusher.queries.push_job(push.provider_id)
    assert job.state == "stopped" and job.bytes_sent >= 8 * 1024

    await push.act("consumer", "resume")
    done = await push.settled("consumer", "COMPLETED")
    assert [e["to"] for e in done["events"]][-4:] == [
        "STARTED",
        "SUSPENDED",
        "STARTED",
        "COMPLETED",
    ]
    data = await push.received()
    assert data.status_code == 200 and data.content == SLOW_ONCE_CSV  # sent again, from the start
    assert state["slow_once_reads"] == 2
    # The provider books the job done just after completing the transfer.
    await until(lambda: push.pusher.queries.push_job(push.provider_id).state == "done", 5)


async def test_the_providers_operator_terminating_cuts_a_running_push(
    space: LocalDataspace, owner: tuple[str, dict[str, Any]]
) -> None:
    base, state = owner
    push = await start_push(
        space, "urn:test:slow", {"type": "http", "baseUrl": f"{base}/slow-once"}
    )
    part = push.sink.with_suffix(".part")
    await until(lambda: part.exists() and part.stat().st_size >= 4 * 1024)

    await push.act("provider", "terminate", code="owner_request", reason="gateway recalled")
    ended = await push.settled("consumer", "TERMINATED")
    assert ended["events"][-1]["detail"]["code"] == "owner_request"
    await push.stopped_here()
    await until(lambda: state.get("slow_once_closed") is True, 5)
    await until(lambda: not part.exists(), 5)
    assert state["slow_once_reads"] == 1 and not push.sink.exists()
    provider_view = await push.settled("provider", "TERMINATED")
    assert "COMPLETED" not in [e["to"] for e in provider_view["events"]]


# -- a live source -----------------------------------------------------------------------------


async def mqtt_publish(topic: str, *readings: dict[str, Any]) -> None:
    async with aiomqtt.Client("127.0.0.1", 1883) as client:
        for reading in readings:
            await client.publish(topic, json.dumps(reading), qos=1)


async def payloads(push: Push) -> list[Any]:
    response = await push.received()
    if response.status_code == 409:  # nothing pushed yet
        return []
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-ndjson"
    return [json.loads(line)["payload"] for line in response.text.splitlines()]


async def until_received(push: Push, topic: str, reading: dict[str, Any]) -> None:
    """Publish `reading` until it arrives (the first ones may precede the subscription)."""
    with anyio.fail_after(15):
        while reading not in await payloads(push):
            await mqtt_publish(topic, reading)
            await anyio.sleep(0.1)


async def test_a_live_source_is_pushed_as_readings_arrive_until_suspended(
    space: LocalDataspace,
) -> None:
    topic = f"tsunagu-test/{uuid.uuid4().hex}"
    address = {"type": "mqtt", "host": "127.0.0.1", "port": 1883, "topic": f"{topic}/#"}
    push = await start_push(space, "urn:test:live-levels", address)
    await until_received(push, f"{topic}/上流", {"probe": 1})

    await mqtt_publish(f"{topic}/上流", {"level_m": 1.42}, {"level_m": 1.45})
    with anyio.fail_after(10):
        while (await payloads(push))[-2:] != [{"level_m": 1.42}, {"level_m": 1.45}]:
            await anyio.sleep(0.05)
    lines = (await push.received()).text.splitlines()
    assert json.loads(lines[-1])["topic"] == f"{topic}/上流"
    assert (await push.settled("consumer", "STARTED"))["state"] == "STARTED"  # no end of its own

    await push.act("provider", "suspend", reason="sensor calibration")
    await push.both("SUSPENDED")
    await push.stopped_here()
    before = await payloads(push)
    await mqtt_publish(f"{topic}/上流", {"level_m": 9.99}, {"level_m": 9.98})  # while suspended

    await push.act("consumer", "resume")
    await push.both("STARTED")
    # Published after the suspended readings: once it is in, they would be too.
    await until_received(push, f"{topic}/下流", {"resumed": True})
    assert {"level_m": 9.99} not in await payloads(push)  # nothing from the suspension
    await push.act("consumer", "complete")
    await push.settled("provider", "COMPLETED")
    await push.stopped_here()
    final = await payloads(push)
    assert final[: len(before)] == before and {"level_m": 9.99} not in final


async def test_a_live_push_stops_and_terminates_when_the_agreement_is_revoked(
    space: LocalDataspace,
) -> None:
    topic = f"tsunagu-test/{uuid.uuid4().hex}"
    address = {"type": "mqtt", "host": "127.0.0.1", "port": 1883, "topic": f"{topic}/#"}
    push = await start_push(space, "urn:test:live-revoked", address)
    await until_received(push, f"{topic}/a", {"probe": 1})
    [agreement] = await space["provider"].client.call("GET", "/agreements")
    await space["provider"].client.call(
        "POST", f"/agreements/{agreement['id']}/revoke", json={"reason": "consent withdrawn"}
    )
    ended = await push.settled("consumer", "TERMINATED")  # the recheck, within a second
    detail = ended["events"][-1]["detail"]
    assert detail["code"] == "agreement_revoked" and "consent withdrawn" in detail["reason"][0]
    await push.stopped_here()


async def recheck(space: LocalDataspace, pid: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The verdict of the provider's next periodic re-check of `pid` (it runs while the
    transfer has a running push or open stream)."""
    plane = space["provider"].connector.dataplane
    seen = anyio.Event()
    verdicts: list[Any] = []
    check = plane._still_allowed

    def watched(snapshot: Any) -> Any:
        verdict = check(snapshot)
        if snapshot is not None and snapshot.transfer_id == pid:
            verdicts.append(verdict)
            seen.set()
        return verdict

    monkeypatch.setattr(plane, "_still_allowed", watched)
    with anyio.fail_after(10):
        await seen.wait()
    return verdicts[0]


async def test_every_delivery_of_a_push_is_one_counted_access(
    space: LocalDataspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = f"tsunagu-test/{uuid.uuid4().hex}"
    address = {"type": "mqtt", "host": "127.0.0.1", "port": 1883, "topic": f"{topic}/#"}
    once = {"leftOperand": "count", "operator": "lteq", "rightOperand": 1}
    push = await start_push(space, "urn:test:live-once", address, once)
    await until_received(push, f"{topic}/a", {"probe": 1})
    verdict = await recheck(space, push.provider_id, monkeypatch)
    assert verdict.allowed  # the access under way is not cut by its count
    await until_received(push, f"{topic}/a", {"probe": 2})
    await push.act("consumer", "suspend")
    await push.both("SUSPENDED")
    await push.act("consumer", "resume")  # a second delivery: over the limit
    ended = await push.settled("consumer", "TERMINATED")
    detail = ended["events"][-1]["detail"]
    assert detail["code"] == "access_limit_reached"
    assert detail["reason"] == ["the agreement allows 1 accesses; all are used"]


async def test_a_sink_without_an_http_endpoint_is_refused_at_the_door(
    space: LocalDataspace, tmp_path: Path
) -> None:
    source = tmp_path / "levels.csv"
    source.write_text("station,level_m\n上流,1.42\n")
    sink = {"@type": "DataAddress", "endpointType": "https://w3id.org/idsa/v4.1/HTTP",
            "endpoint": "ftp://files.c-village.example/in", "endpointProperties": []}  # fmt: skip
    # The provider's door refuses the sink (the outbound policy): the request is answered
    # with a DSP error, which ends the consumer's transfer at once; the provider stores nothing.
    await publish(space, "urn:test:ftp", {"type": "file", "path": str(source)})
    agreement_id = await agree(space, "urn:test:ftp")
    request = {"agreement_id": agreement_id, "format": "HttpData-PUSH", "data_address": sink}
    started = await space["consumer"].client.call("POST", "/transfers", json=request)
    ended = await space["consumer"].client.wait_for(
        "transfers", started["id"], ["TERMINATED"], timeout=20
    )
    assert ended["state"] == "TERMINATED"
    assert "outbound_address_refused" in ended["last_error"]
    assert await space["provider"].client.call("GET", "/transfers") == []


async def test_a_sink_takes_batches_only_with_its_token(space: LocalDataspace) -> None:
    sinks = space["consumer"].connector.dataplane.sinks
    address = sinks.new_address()
    token = address["endpointProperties"][0]["value"]
    async with httpx.AsyncClient() as http:
        refused = await http.post(address["endpoint"], content=b"{}\n",
                                  headers={"Authorization": "Bearer nope"})  # fmt: skip
        for batch in (b'{"n": 1}\n{"n": 2}\n', b'{"n": 3}'):
            taken = await http.post(
                address["endpoint"], content=batch, headers={"Authorization": f"Bearer {token}"}
            )
            assert taken.status_code == 200
    assert refused.status_code == 401
    path = sinks.path(address["endpoint"].rpartition("/")[2])
    assert path.read_text().splitlines() == ['{"n": 1}', '{"n": 2}', '{"n": 3}']
    assert taken.json() == {"received": len(path.read_bytes())}


async def test_a_sink_takes_data_only_while_its_transfer_is_started(
    space: LocalDataspace, tmp_path: Path
) -> None:
    source = tmp_path / "levels.csv"
    source.write_text("station,level_m\n上流,1.42\n")
    push = await start_push(space, "urn:test:tied", {"type": "file", "path": str(source)})
    await push.settled("consumer", "COMPLETED")
    address = (await space["consumer"].client.call("GET", f"/transfers/{push.consumer_id}"))[
        "data_address"
    ]
    token = address["endpointProperties"][0]["value"]
    async with httpx.AsyncClient() as http:
        late = await http.put(
            address["endpoint"], content=b"forged", headers={"Authorization": f"Bearer {token}"}
        )
    # The right token, but the transfer is over: a provider that ignores that is refused.
    assert late.status_code == 403
    assert late.json()["error"]["code"] == "transfer_not_started"
    assert push.sink.read_text() == "station,level_m\n上流,1.42\n"
