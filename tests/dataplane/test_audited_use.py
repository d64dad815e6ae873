"""`tsunagu audit verify` re-decides every recorded access under its agreement's policy: real
pulls within the window and count verify clean; an access the log shows as allowed past the
count or after the window (written through the log's own API, then signed into a fresh
checkpoint, so nothing but this check can see it) is a finding naming its entry."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import httpx
import pytest
from click.testing import CliRunner

from connector.audit.checkpoint import NoteVerifier, origin_for
from connector.audit.client import AuditReader, verify_connector
from connector.audit.entries import format_time
from connector.audit.verifier import Report
from connector.cli import main
from connector.demo.localspace import LocalDataspace, Participant
from connector.store.audit_log import AuditQueries
from connector.store.audit_records import record_event

from .conftest import offer, start_pull

pytestmark = pytest.mark.anyio


async def verify(provider: Participant) -> Report:
    settings = provider.settings
    origin = origin_for(provider.did)
    keys = [NoteVerifier(origin, k.public_key()) for k in provider.connector.keys.published()]
    async with httpx.AsyncClient() as http:
        signed = await http.post(
            settings.public_url + "/audit/checkpoint",
            headers={"Authorization": f"Bearer {settings.management_token}"},
        )
        assert signed.status_code == 201, signed.text
        reader = AuditReader(http, settings.public_url, settings.management_token)
        return await verify_connector(reader, origin=origin, verifiers=keys)


def entries(provider: Participant, kind: str) -> list[dict[str, object]]:
    queries = AuditQueries(provider.connector.store)
    found = [json.loads(e.body) for e in queries.entries(0, queries.size())]
    return [e for e in found if e["kind"] == kind]


def forge_access(provider: Participant, agreement_id: str, transfer_id: str, at: datetime) -> int:
    """An access recorded as allowed, through the log's own API (sealed and appended like
    every entry): only re-deciding it under the agreement can tell it should not be."""
    record = record_event(
        at=at,
        family="data",
        action="access",
        subject=transfer_id,
        peer="did:web:consumer.example",
        details={
            "agreement": agreement_id,
            "dataset": "urn:forged",
            "path": "",
            "bytes": 10,
            "sha256": None,
            "complete": True,
            "decision": "allowed",
            "started": format_time(at),
        },
    )
    with provider.connector.store.transaction() as tx:
        tx.add(record)
    forged = [e for e in entries(provider, "data.access") if e["details"]["bytes"] == 10]
    return int(forged[-1]["seq"])


async def test_accesses_within_the_agreement_verify_and_one_past_it_is_named(
    space: LocalDataspace, tmp_path: Path
) -> None:
    source = tmp_path / "rain.csv"
    source.write_text("station,rain_mm\n上流,12\n")
    until = datetime.now(UTC) + timedelta(hours=1)
    pull = await start_pull(
        space,
        {"type": "file", "path": str(source)},
        offer(
            "urn:offer:counted",
            {"leftOperand": "count", "operator": "lteq", "rightOperand": 2},
            {"leftOperand": "dateTime", "operator": "lt", "rightOperand": until.isoformat()},
        ),
    )
    assert (await pull.get()).status_code == 200
    assert (await pull.get()).status_code == 200
    assert (await pull.get()).status_code != 200  # the third: refused by the data plane
    provider = space["provider"]

    [agreed] = entries(provider, "agreement.signed")
    details = agreed["details"]
    assert isinstance(details, dict) and details["policy"]["permission"]  # the policy itself
    assert len(entries(provider, "data.access")) == 2
    assert len(entries(provider, "data.refused")) == 1
    clean = await verify(provider)
    assert clean.ok, clean.findings

    over = forge_access(provider, pull.agreement_id, pull.provider_id, datetime.now(UTC))
    report = await verify(provider)
    assert report.codes() == ["access_outside_agreement"]
    [finding] = report.findings
    assert finding.seq == over and "access_limit_reached" in finding.message

    # the same through `tsunagu audit verify` (exit 1, the entry named in the JSON report)
    state = tmp_path / "audit-state.json"
    args = ["audit", "verify", str(provider.settings.directory), "--state", str(state), "--json"]
    result = await anyio.to_thread.run_sync(lambda: CliRunner().invoke(main, args))
    assert result.exit_code == 1, result.output
    [logged] = json.loads(result.output)
    assert [(f["code"], f["seq"]) for f in logged["findings"]] == [
        ("access_outside_agreement", over)
    ]


async def test_an_access_after_the_window_is_named(space: LocalDataspace, tmp_path: Path) -> None:
    source = tmp_path / "rain.csv"
    source.write_text("station,rain_mm\n上流,12\n")
    pull = await start_pull(
        space,
        {"type": "file", "path": str(source)},
        offer(
            "urn:offer:day",
            {"leftOperand": "elapsedTime", "operator": "lteq", "rightOperand": "P1D"},
        ),
    )
    assert (await pull.get()).status_code == 200
    provider = space["provider"]
    assert (await verify(provider)).ok
    late = datetime.now(UTC) + timedelta(days=2)
    seq = forge_access(provider, pull.agreement_id, pull.provider_id, late)
    report = await verify(provider)
    assert report.codes() == ["access_outside_agreement"]
    assert report.findings[0].seq == seq and "agreement_expired" in report.findings[0].message
