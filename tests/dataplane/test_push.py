"""Push transfers: the provider streams into the consumer's sink and completes; a push that
keeps failing ends TERMINATED with a reason both sides read."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.demo.localspace import LocalDataspace
from connector.serving import free_port

from .conftest import agree, publish

pytestmark = pytest.mark.anyio


async def test_push_delivers_the_file_and_completes(space: LocalDataspace, tmp_path: Path) -> None:
    source = tmp_path / "rain.csv"
    source.write_bytes(("station,rain_mm\n" + "上流,12\n" * 100_000).encode())  # ~1 MiB
    await publish(space, "urn:test:rain", {"type": "file", "path": str(source)})
    agreement_id = await agree(space, "urn:test:rain")
    consumer = space["consumer"].client
    started = await consumer.call(
        "POST", "/transfers", json={"agreement_id": agreement_id, "format": "HttpData-PUSH"}
    )
    assert "/data/sinks/" in started["data_address"]["endpoint"]
    done = await consumer.wait_for("transfers", started["id"], ["COMPLETED"], timeout=20)
    assert done["state"] == "COMPLETED"
    response = await consumer._http.get(
        f"{consumer.base_url}/management/transfers/{started['id']}/data",
        headers={**consumer._headers, "Accept-Encoding": "identity"},
    )
    assert response.status_code == 200 and response.content == source.read_bytes()
    assert response.headers["content-type"].startswith("text/csv")
    [row] = await space["provider"].client.call("GET", "/transfers")
    provider_side = await space["provider"].client.wait_for("transfers", row["id"], ["COMPLETED"])
    assert provider_side["state"] == "COMPLETED"


async def test_a_push_that_keeps_failing_terminates_with_a_reason(
    space: LocalDataspace, tmp_path: Path
) -> None:
    source = tmp_path / "rain.csv"
    source.write_text("station,rain_mm\n上流,12\n")
    await publish(space, "urn:test:rain", {"type": "file", "path": str(source)})
    agreement_id = await agree(space, "urn:test:rain")
    space["provider"].connector.dataplane.pusher.base_delay = 0.05
    dead_sink = {
        "@type": "DataAddress",
        "endpointType": "https://w3id.org/idsa/v4.1/HTTP",
        "endpoint": f"http://127.0.0.1:{free_port()}/sink",
        "endpointProperties": [
            {"@type": "EndpointProperty", "name": "authorization", "value": "t"}
        ],
    }
    consumer = space["consumer"].client
    started = await consumer.call(
        "POST",
        "/transfers",
        json={"agreement_id": agreement_id, "format": "HttpData-PUSH", "data_address": dead_sink},
    )
    done = await consumer.wait_for("transfers", started["id"], ["TERMINATED"], timeout=20)
    assert done["state"] == "TERMINATED"
    detail = done["events"][-1]["detail"]
    assert detail["code"] == "push_failed" and "4 times" in detail["reason"][0]
    [provider_side] = await space["provider"].client.call("GET", "/transfers")
    provider_view = await space["provider"].client.wait_for(
        "transfers", provider_side["id"], ["TERMINATED"]
    )
    assert provider_view["events"][-1]["detail"]["code"] == "push_failed"


async def test_a_sink_refuses_a_wrong_token(space: LocalDataspace) -> None:
    import httpx

    address = space["consumer"].connector.dataplane.sinks.new_address()
    async with httpx.AsyncClient() as http:
        refused = await http.put(
            address["endpoint"], content=b"x", headers={"Authorization": "Bearer nope"}
        )
        unknown = await http.put(
            address["endpoint"] + "0", content=b"x", headers={"Authorization": "Bearer nope"}
        )
    assert refused.status_code == 401 and unknown.status_code == 401
