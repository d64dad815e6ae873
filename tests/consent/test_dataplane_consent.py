"""End to end, with real connectors on loopback: a personal dataset releases only the rows of
subjects whose consent covers the agreement's purpose and recipient at the moment of access,
and a withdrawal takes effect on the very next read (and in a running live stream)."""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import pytest

from connector.clock import ManualClock
from connector.demo.localspace import LocalDataspace
from tests.dataplane.conftest import agree, start_pull

from .conftest import EVACUATION, consent_offer, give, personal_pull, withdraw

pytestmark = pytest.mark.anyio

RESIDENTS = [
    {"resident_id": "r-001", "name": "山田 花子", "needs": "車椅子"},
    {"resident_id": "r-002", "name": "佐藤 一郎", "needs": "酸素吸入"},
    {"resident_id": "r-003", "name": "鈴木 次郎", "needs": "視覚"},
]


def write_source(tmp_path: Path, kind: str) -> dict[str, Any]:
    if kind == "csv":
        path = tmp_path / "residents.csv"
        lines = ["resident_id,name,needs"] + [
            f"{r['resident_id']},{r['name']},{r['needs']}" for r in RESIDENTS
        ]
        lines.insert(2, 'r-009,"Quoted, Name","line\nbreak"')  # no consent: never released
        path.write_text("\n".join(lines) + "\n")
    elif kind == "ndjson":
        path = tmp_path / "residents.ndjson"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in RESIDENTS))
        return {"type": "file", "path": str(path), "contentType": "application/x-ndjson"}
    elif kind == "json":
        path = tmp_path / "residents.json"
        path.write_text(json.dumps(RESIDENTS, ensure_ascii=False, indent=1))
    else:
        path = tmp_path / "owner.db"
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE residents (resident_id TEXT, name TEXT, needs TEXT)")
            db.executemany(
                "INSERT INTO residents VALUES (?, ?, ?)",
                [(r["resident_id"], r["name"], r["needs"]) for r in RESIDENTS],
            )
        return {"type": "sql", "url": f"sqlite:///{path}", "query": "SELECT * FROM residents"}
    return {"type": "file", "path": str(path)}


def subjects(kind: str, body: bytes) -> list[str]:
    text = body.decode()
    if kind == "csv":
        lines = text.splitlines()
        assert lines[0] == "resident_id,name,needs"
        return [line.split(",")[0] for line in lines[1:]]
    if kind == "json":
        return [r["resident_id"] for r in json.loads(text)]
    return [json.loads(line)["resident_id"] for line in text.splitlines()]


@pytest.mark.parametrize("kind", ["csv", "ndjson", "json", "sql"])
async def test_withdrawal_between_two_reads_removes_the_row(
    space: LocalDataspace, tmp_path: Path, kind: str
) -> None:
    pull = await personal_pull(space, write_source(tmp_path, kind))
    one = await give(space, "r-001")
    two = await give(space, "r-002")
    await give(space, "r-003", recipients=("did:web:someone-else",))
    first = await pull.get()
    assert first.status_code == 200, first.text
    assert subjects(kind, first.content) == ["r-001", "r-002"]
    assert first.headers["cache-control"] == "no-store"
    await withdraw(space, two["id"])
    second = await pull.get()
    assert subjects(kind, second.content) == ["r-001"]
    await withdraw(space, one["id"])
    assert subjects(kind, (await pull.get()).content) == []


async def test_the_transfer_snapshot_carries_the_consent_version(
    space: LocalDataspace, tmp_path: Path
) -> None:
    """Read in the snapshot's statement for personal data only (an access of it needs no
    statement of its own while the kept answer holds), and grown by every change."""
    pull = await personal_pull(space, write_source(tmp_path, "csv"))
    plane = space["provider"].connector.dataplane
    before = plane.queries.snapshot(pull.provider_id)
    assert before is not None and before.consent_version is not None
    assert before.consent_version == plane.consent.queries.version()
    await give(space, "r-001")
    after = plane.queries.snapshot(pull.provider_id)
    assert after is not None and after.consent_version is not None
    assert after.consent_version > before.consent_version
    assert subjects("csv", (await pull.get()).content) == ["r-001"]
    path = tmp_path / "plain.csv"
    path.write_text("a,b\n1,2\n")
    plain = await start_pull(space, {"type": "file", "path": str(path)})
    snapshot = plane.queries.snapshot(plain.provider_id)
    assert snapshot is not None and snapshot.consent_version is None


async def test_purpose_and_validity_are_checked_at_each_access(
    timed: LocalDataspace, tmp_path: Path, clock: ManualClock
) -> None:
    pull = await personal_pull(timed, write_source(tmp_path, "ndjson"))
    until = clock() + timedelta(seconds=60)
    await give(timed, "r-001", valid_until=until.isoformat())
    await give(timed, "r-002", purposes=(EVACUATION,))  # exactly the agreement's purpose
    await give(timed, "r-003", purposes=("https://w3id.org/dpv#Marketing",))
    assert subjects("ndjson", (await pull.get()).content) == ["r-001", "r-002"]
    clock.advance(60)  # r-001's consent ends at this instant
    assert subjects("ndjson", (await pull.get()).content) == ["r-002"]
    listed = await timed["provider"].client.call("GET", "/consents", params={"subject": "r-001"})
    assert listed[0]["status"] == "expired"
    assert [h["status"] for h in listed[0]["history"]] == ["given", "expired"]


async def test_an_agreement_for_any_purpose_releases_nothing(
    space: LocalDataspace, tmp_path: Path
) -> None:
    anything = {"@type": "Offer", "@id": "urn:o:any", "permission": [{"action": "use"}]}
    pull = await personal_pull(space, write_source(tmp_path, "csv"), offer=anything)
    await give(space, "r-001")
    response = await pull.get()
    assert response.status_code == 200
    assert subjects("csv", response.content) == []


async def test_a_source_that_cannot_be_filtered_is_refused(
    space: LocalDataspace, tmp_path: Path
) -> None:
    path = tmp_path / "no-subject.csv"
    path.write_text("name,needs\n" + "山田,車椅子\n" * 20_000)  # past one read: an open file
    pull = await personal_pull(space, {"type": "file", "path": str(path)})
    await give(space, "r-001")
    response = await pull.get(headers={"Range": "bytes=0-3"})
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "personal_data_unfilterable"


async def test_a_range_request_gets_whole_filtered_rows(
    space: LocalDataspace, tmp_path: Path
) -> None:
    pull = await personal_pull(space, write_source(tmp_path, "csv"))
    await give(space, "r-002")
    response = await pull.get(headers={"Range": "bytes=0-10"})
    assert response.status_code == 200
    assert subjects("csv", response.content) == ["r-002"]


async def test_a_live_stream_stops_carrying_a_withdrawn_subject(space: LocalDataspace) -> None:
    topic = f"tsunagu-test/{uuid.uuid4().hex}"
    address = {"type": "mqtt", "host": "127.0.0.1", "port": 1883, "topic": f"{topic}/#"}
    pull = await personal_pull(space, address)
    one = await give(space, "r-001")
    two = await give(space, "r-002")

    async def publish(*subjects: str) -> None:
        async with aiomqtt.Client("127.0.0.1", 1883) as client:
            for s in subjects:
                await client.publish(f"{topic}/x", json.dumps({"resident_id": s}), qos=1)

    async with httpx.AsyncClient(timeout=10) as http:
        request = http.build_request(
            "GET",
            pull.endpoint,
            headers={"Authorization": f"Bearer {pull.token}", "Accept": "application/x-ndjson"},
        )
        response = await http.send(request, stream=True)
        try:
            assert response.status_code == 200
            await publish("r-003", "r-001", "r-002")  # r-003 never consented
            seen: list[str] = []
            lines = response.aiter_lines()
            async for line in lines:
                if line.strip():
                    seen.append(json.loads(line)["payload"]["resident_id"])
                if len(seen) == 2:
                    break
            assert seen == ["r-001", "r-002"]
            await withdraw(space, two["id"])
            await publish("r-002", "r-001")
            async for line in lines:
                if line.strip():
                    seen.append(json.loads(line)["payload"]["resident_id"])
                    break
            assert seen == ["r-001", "r-002", "r-001"]
            await withdraw(space, one["id"])
            await give(space, "r-002")  # consent again: carried again
            await publish("r-001", "r-002")
            async for line in lines:
                if line.strip():
                    seen.append(json.loads(line)["payload"]["resident_id"])
                    break
            assert seen[-1] == "r-002"
        finally:
            await response.aclose()


async def test_a_push_carries_only_the_consenting_subjects_rows(
    space: LocalDataspace, tmp_path: Path
) -> None:
    dataset = "urn:tsunagu:dataset:202151:residents-push"
    await space["provider"].client.call(
        "POST",
        "/datasets",
        json={
            "id": dataset,
            "title": "避難行動要支援者名簿",
            "data_address": write_source(tmp_path, "csv"),
            "personal": {"subject_field": "resident_id"},
            "offers": [{"policy": consent_offer(f"{dataset}:offer")}],
        },
    )
    await give(space, "r-003")
    agreement_id = await agree(space, dataset)
    consumer = space["consumer"].client
    started = await consumer.call(
        "POST", "/transfers", json={"agreement_id": agreement_id, "format": "HttpData-PUSH"}
    )
    done = await consumer.wait_for("transfers", started["id"], ["COMPLETED"], timeout=20)
    assert done["state"] == "COMPLETED"
    response = await consumer._http.get(
        f"{consumer.base_url}/management/transfers/{started['id']}/data",
        headers={**consumer._headers, "Accept-Encoding": "identity"},
    )
    assert subjects("csv", response.content) == ["r-003"]
