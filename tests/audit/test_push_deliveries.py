"""A push delivery is vouched for by both sides: the provider's `data.access` and the
consumer's `data.received` carry the same byte count and SHA-256, so the auditor can hold one
against the other (a different count is a finding: tests/audit/test_crosscheck.py)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from click.testing import CliRunner, Result

from connector.cli import main
from connector.demo.localspace import LocalDataspace, Participant
from connector.store.audit_log import AuditQueries
from tests.audit.exchange import settled
from tests.e2e.conftest import members_offer

pytestmark = pytest.mark.anyio
DATASET = "urn:tsunagu:dataset:202151:rain-pushed"


async def tsunagu(*args: Any) -> Result:
    return await anyio.to_thread.run_sync(lambda: CliRunner().invoke(main, [str(a) for a in args]))


def deliveries(participant: Participant, kind: str, subject: str) -> list[dict[str, Any]]:
    queries = AuditQueries(participant.connector.store)
    found = [json.loads(e.body) for e in queries.entries(0, queries.size())]
    return [e["details"] for e in found if e["kind"] == kind and e["subject"] == subject]


async def test_both_sides_log_the_same_push_and_the_auditor_finds_them_matching(
    space: LocalDataspace, tmp_path: Path
) -> None:
    source = tmp_path / "rain.csv"
    source.write_text("station,rain_mm\n上流橋,12\n中流,7\n")
    provider, consumer = space["provider"], space["consumer"]
    await provider.client.call(
        "POST",
        "/datasets",
        json={
            "id": DATASET,
            "title": "雨量",
            "data_address": {"type": "file", "path": str(source)},
            "offers": [{"policy": members_offer("urn:offer:rain-pushed")}],
        },
    )
    started = await consumer.client.call(
        "POST", "/negotiations", json={"provider": provider.did, "dataset_id": DATASET}
    )
    done = await consumer.client.wait_for("negotiations", started["id"], ["FINALIZED"])
    push = await consumer.client.call(
        "POST",
        "/transfers",
        json={"agreement_id": done["agreement_id"], "format": "HttpData-PUSH"},
    )
    assert (await consumer.client.wait_for("transfers", push["id"], ["COMPLETED"]))["state"] == (
        "COMPLETED"
    )
    [theirs] = await provider.client.call("GET", "/transfers")
    await provider.client.wait_for("transfers", theirs["id"], ["COMPLETED"])
    await settled(provider, consumer)

    body = source.read_bytes()
    [sent] = deliveries(provider, "data.access", theirs["id"])
    [got] = deliveries(consumer, "data.received", push["id"])
    assert sent["delivery"] == got["delivery"] == "push"
    assert sent["bytes"] == got["bytes"] == len(body)
    assert sent["sha256"] == got["sha256"] == hashlib.sha256(body).hexdigest()
    assert got["agreement"] == done["agreement_id"] and got["complete"] is True

    for p in (provider, consumer):
        made = await tsunagu("audit", "checkpoint", p.settings.directory)
        assert made.exit_code == 0, made.output
    auditor = space["auditor"].settings.directory
    checked = await tsunagu(
        "audit", "verify", provider.did, consumer.did, "--as", auditor, "--json"
    )
    assert checked.exit_code == 0, checked.output
    assert all(r["ok"] for r in json.loads(checked.output))
