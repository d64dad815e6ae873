"""The audit API of a real connector (SQLite): entries, proofs, checkpoints."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from connector.audit.checkpoint import NoteVerifier, verify_checkpoint
from connector.audit.client import AuditReader, verify_connector
from connector.audit.entries import Entry
from connector.audit.merkle import leaf_hash, verify_consistency, verify_inclusion
from connector.demo.localspace import LocalDataspace, Participant
from tests.audit.conftest import trusted, write_events
from tests.e2e.conftest import COUNCIL, members_offer, publish

pytestmark = pytest.mark.anyio


def auth(participant: Participant) -> dict[str, str]:
    return {"Authorization": f"Bearer {participant.settings.management_token}"}


async def get(http: httpx.AsyncClient, participant: Participant, path: str, **params: Any) -> Any:
    response = await http.get(
        participant.settings.public_url + path, params=params, headers=auth(participant)
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_audit_api_needs_the_management_token(
    participant: Participant, http: httpx.AsyncClient
) -> None:
    base = participant.settings.public_url
    for method, path in (("GET", "/audit/entries"), ("POST", "/audit/checkpoint")):
        response = await http.request(method, base + path)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "operator_unauthenticated"


async def test_checkpoints_are_made_on_demand_and_verify(
    participant: Participant, http: httpx.AsyncClient
) -> None:
    base = participant.settings.public_url
    missing = await http.get(base + "/audit/checkpoint", headers=auth(participant))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "no_checkpoint"
    write_events(participant, 5)
    made = await http.post(base + "/audit/checkpoint", headers=auth(participant))
    assert made.status_code == 201
    body = made.json()
    origin, verifiers = trusted(participant)
    assert body["origin"] == origin and body["size"] == 5
    assert NoteVerifier.from_vkey(body["vkeys"][0]).vkey() == verifiers[0].vkey()
    checkpoint = verify_checkpoint(body["note"], origin, verifiers)
    assert base64.b64encode(checkpoint.root).decode() == body["root"]
    assert await get(http, participant, "/audit/checkpoint") == body


async def test_entries_are_paged_and_proofs_verify_against_the_checkpoint(
    participant: Participant, http: httpx.AsyncClient
) -> None:
    write_events(participant, 7)
    first = (
        await http.post(
            participant.settings.public_url + "/audit/checkpoint", headers=auth(participant)
        )
    ).json()
    write_events(participant, 6, prefix="q")
    second = (
        await http.post(
            participant.settings.public_url + "/audit/checkpoint", headers=auth(participant)
        )
    ).json()
    origin, verifiers = trusted(participant)
    old, new = (verify_checkpoint(c["note"], origin, verifiers) for c in (first, second))
    page1 = await get(http, participant, "/audit/entries", start=0, limit=10)
    page2 = await get(http, participant, "/audit/entries", start=page1["next"], limit=10)
    assert page1["tree_size"] == 13 and page1["next"] == 10 and page2["next"] is None
    served = page1["entries"] + page2["entries"]
    assert [e["seq"] for e in served] == list(range(13))
    for item in served:
        assert Entry.from_json(item["entry"]).seq == item["seq"]
        leaf = leaf_hash(item["body"].encode())
        assert base64.b64decode(item["leaf_hash"]) == leaf
        reply = await get(
            http, participant, f"/audit/entries/{item['seq']}/inclusion", tree_size=13
        )
        verify_inclusion(
            item["seq"], 13, leaf, [base64.b64decode(h) for h in reply["proof"]], new.root
        )
    reply = await get(http, participant, "/audit/consistency", old=7, new=13)
    verify_consistency(7, 13, old.root, new.root, [base64.b64decode(h) for h in reply["proof"]])


async def test_impossible_proofs_are_clear_errors(
    participant: Participant, http: httpx.AsyncClient
) -> None:
    write_events(participant, 3)
    base = participant.settings.public_url
    for path, params in (
        ("/audit/entries/3/inclusion", {"tree_size": 3}),
        ("/audit/entries/0/inclusion", {"tree_size": 4}),
        ("/audit/consistency", {"old": 3, "new": 2}),
        ("/audit/consistency", {"old": 1, "new": 9}),
    ):
        response = await http.get(base + path, params=params, headers=auth(participant))
        assert response.status_code == 400, (path, params)
        assert response.json()["error"]["code"] == "proof_bad_size"


async def test_a_real_negotiation_is_in_both_logs_and_both_verify(tmp_path: Any) -> None:
    async with LocalDataspace(tmp_path) as space, httpx.AsyncClient() as http:
        await space.start_authority()
        provider = await space.add("provider", "A市", memberships=[COUNCIL])
        consumer = await space.add("consumer", "C村", memberships=[COUNCIL])
        await publish(provider, "urn:ds:1", members_offer("urn:offer:1"))
        started = await consumer.client.call(
            "POST", "/negotiations", json={"provider": provider.did, "dataset_id": "urn:ds:1"}
        )
        done = await consumer.client.wait_for("negotiations", started["id"], ["FINALIZED"])
        [row] = await provider.client.call("GET", "/negotiations")
        await provider.client.wait_for("negotiations", row["id"], ["FINALIZED"])
        for side, pid in ((consumer, done["id"]), (provider, row["id"])):
            await http.post(side.settings.public_url + "/audit/checkpoint", headers=auth(side))
            reader = AuditReader(http, side.settings.public_url, side.settings.management_token)
            origin, verifiers = trusted(side)
            report = await verify_connector(reader, origin=origin, verifiers=verifiers)
            assert report.ok, report.findings
            _, entries = await reader.entries()
            logged = [Entry.from_bytes(e.body.encode()) for e in entries]
            # beside the transitions: the agreement with its policy's hash, and receipts; the
            # provider's log also holds its operator publishing the dataset
            assert {e.subject for e in logged if e.kind == "dataset.transition"} <= {"urn:ds:1"}
            mine = [e for e in logged if e.kind == "negotiation.transition"]
            assert "agreement.signed" in {e.kind for e in logged}
            assert {e.subject for e in mine} == {pid}
            assert [e.details["to"] for e in mine][-1] == "FINALIZED"
            assert all(e.peer in (provider.did, consumer.did) for e in mine)
            history = await side.client.call("GET", f"/negotiations/{pid}")
            assert len(history["events"]) == len(mine)  # one entry per event, no more
