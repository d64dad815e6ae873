"""Push transfers: the provider streams into the consumer's sink and completes; a push that
keeps failing ends TERMINATED with a reason both sides read."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from connector.audit.checkpoint import NoteVerifier, origin_for
from connector.audit.client import AuditReader, verify_connector
from connector.demo.localspace import LocalDataspace, Participant
from connector.serving import free_port
from connector.store.audit_log import AuditQueries

from .conftest import agree, offer, publish

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
    # Metered like a pull read: one access entry with the bytes and their hash.
    [access] = accesses(space["provider"], row["id"])
    assert access["bytes"] == source.stat().st_size
    assert access["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert access["complete"] is True and access["delivery"] == "push"
    assert access["agreement"] == agreement_id and access["decision"] == "allowed"


def accesses(participant: Participant, transfer_id: str) -> list[dict[str, Any]]:
    """The details of the `data.access` entries of one transfer in the participant's log."""
    queries = AuditQueries(participant.connector.store)
    found = [json.loads(e.body) for e in queries.entries(0, queries.size())]
    return [
        e["details"] for e in found if e["kind"] == "data.access" and e["subject"] == transfer_id
    ]


async def test_each_push_delivery_is_counted_and_audited(
    space: LocalDataspace, tmp_path: Path
) -> None:
    """Under `count lteq 1` one delivery goes out and is logged; the log verifies clean."""
    source = tmp_path / "rain.csv"
    source.write_text("station,rain_mm\n上流,12\n")
    counted = offer(
        "urn:test:once:offer", {"leftOperand": "count", "operator": "lteq", "rightOperand": 1}
    )
    await publish(space, "urn:test:once", {"type": "file", "path": str(source)}, counted)
    agreement_id = await agree(space, "urn:test:once")
    consumer = space["consumer"].client
    first = await consumer.call(
        "POST", "/transfers", json={"agreement_id": agreement_id, "format": "HttpData-PUSH"}
    )
    assert (await consumer.wait_for("transfers", first["id"], ["COMPLETED"]))["state"] == (
        "COMPLETED"
    )
    second = await consumer.call(
        "POST", "/transfers", json={"agreement_id": agreement_id, "format": "HttpData-PUSH"}
    )
    ended = await consumer.wait_for("transfers", second["id"], ["TERMINATED"], timeout=20)
    assert ended["state"] == "TERMINATED"  # the limit is used: no second delivery
    provider = space["provider"]
    transfers = await provider.client.call("GET", "/transfers")
    logged = [a for t in transfers for a in accesses(provider, t["id"])]
    assert len(logged) == 1 and logged[0]["bytes"] == source.stat().st_size

    origin = origin_for(provider.did)
    settings = provider.settings
    async with httpx.AsyncClient() as http:
        await http.post(
            settings.public_url + "/audit/checkpoint",
            headers={"Authorization": f"Bearer {settings.management_token}"},
        )
        reader = AuditReader(http, settings.public_url, settings.management_token)
        keys = [NoteVerifier(origin, provider.connector.keys.active.public_key())]
        report = await verify_connector(reader, origin=origin, verifiers=keys)
    assert report.ok, report.findings


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
