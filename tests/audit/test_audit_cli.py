"""`tsunagu audit verify|show|checkpoint` against running connectors."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import anyio
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from connector.audit.entries import canonical_json
from connector.cli import main
from connector.demo.localspace import LocalDataspace
from tests.audit.exchange import exchange

pytestmark = pytest.mark.anyio


async def tsunagu(*args: Any) -> Result:
    """The CLI in a worker thread: the connectors answer from this test's event loop."""
    return await anyio.to_thread.run_sync(lambda: CliRunner().invoke(main, [str(a) for a in args]))


async def test_an_auditor_verifies_both_sides_then_sees_a_change(
    space: LocalDataspace, tmp_path: Path
) -> None:
    agreement, transfer = await exchange(space)
    state = tmp_path / "state.json"
    provider, consumer = space["provider"], space["consumer"]
    for p in (provider, consumer):
        made = await tsunagu("audit", "checkpoint", p.settings.directory)
        assert made.exit_code == 0, made.output
    auditor = space["auditor"].settings.directory
    targets = [provider.settings.public_url, consumer.did]  # by URL and by DID
    clean = await tsunagu("audit", "verify", *targets, "--as", auditor, "--state", state)
    assert clean.exit_code == 0, clean.output
    assert clean.output.count("clean") == 2
    remembered = json.loads(state.read_text())
    assert set(remembered) == {f"{provider.did}/audit", f"{consumer.did}/audit"}

    # the consumer's log has its transfer's entries; list them with filters
    shown = await tsunagu(
        "audit", "show", consumer.settings.directory, "--process", transfer, "--json"
    )
    assert shown.exit_code == 0, shown.output
    entries = [json.loads(line) for line in shown.output.splitlines()]
    assert entries and all(
        transfer in (e["subject"], e["details"].get("own_subject")) for e in entries
    )
    by_agreement = await tsunagu(
        "audit", "show", provider.settings.directory, "--agreement", agreement
    )
    assert "agreement.signed" in by_agreement.output

    # an entry deleted from the provider's database, under its signed checkpoints
    with provider.connector.store.engine.begin() as db:
        db.execute(text("DELETE FROM audit_entry WHERE seq = 3"))
    found = await tsunagu("audit", "verify", *targets, "--as", auditor, "--state", state, "--json")
    assert found.exit_code == 1, found.output
    report = {r["did"]: r for r in json.loads(found.output)}
    assert report[consumer.did]["ok"]
    assert ("entry_missing", 3) in {(f["code"], f["seq"]) for f in report[provider.did]["findings"]}
    assert json.loads(state.read_text()) == remembered  # a log with findings is not remembered


async def test_reading_without_credentials_or_with_a_damaged_state_fails_plainly(
    space: LocalDataspace, tmp_path: Path
) -> None:
    url = space["provider"].settings.public_url
    anonymous = await tsunagu("audit", "verify", url, "--state", tmp_path / "s.json")
    assert anonymous.exit_code == 2 and "--as AUDITOR_DIR" in anonymous.output
    damaged = tmp_path / "damaged.json"
    damaged.write_text("{not json")
    auditor = space["auditor"].settings.directory
    result = await tsunagu("audit", "verify", url, "--as", auditor, "--state", damaged)
    assert result.exit_code == 1 and "state_unreadable" in result.output


async def test_exports_verify_offline_and_say_who_sent_what_to_whom(
    space: LocalDataspace, tmp_path: Path
) -> None:
    from rdflib import Graph, Namespace, URIRef

    agreement, _transfer = await exchange(space)
    provider, consumer = space["provider"], space["consumer"]
    auditor = space["auditor"].settings.directory
    files = []
    for p in (provider, consumer):
        out = tmp_path / f"{p.settings.name}.jsonl"
        made = await tsunagu("audit", "export", p.did, "--as", auditor, "-o", out)
        assert made.exit_code == 0, made.output
        files.append(out)
    state = tmp_path / "state.json"
    clean = await tsunagu("audit", "verify", *files, "--state", state, "--json")
    assert clean.exit_code == 0, clean.output
    assert all(r["ok"] and r["entries_checked"] > 5 for r in json.loads(clean.output))

    # one entry changed in the provider's file: named, and its receipt at the consumer disagrees
    lines = files[0].read_text().splitlines()
    line = json.loads(lines[3])
    entry = json.loads(line["entry"])
    entry["details"]["event"] += 1000  # still canonical JSON, just not what was logged
    line["entry"] = canonical_json(entry).decode()
    lines[3] = json.dumps(line)
    files[0].write_text("\n".join(lines) + "\n")
    found = await tsunagu("audit", "verify", *files, "--state", state, "--json")
    assert found.exit_code == 1
    report = {r["did"]: r for r in json.loads(found.output)}
    assert ("inclusion_failed", 2) in {
        (f["code"], f["seq"]) for f in report[provider.did]["findings"]
    }

    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"type": "tsunagu.audit-export/v1"}\n')
    refused = await tsunagu("audit", "verify", broken, "--state", state)
    assert refused.exit_code == 1 and "export_malformed" in refused.output

    prov = tmp_path / "prov.ttl"
    made = await tsunagu(
        "audit", "export", consumer.did, "--as", auditor, "--format", "prov", "-o", prov
    )
    assert made.exit_code == 0, made.output
    graph = Graph().parse(prov, format="turtle")
    p_ns = Namespace("http://www.w3.org/ns/prov#")
    t_ns = Namespace("https://w3id.org/tsunagu/audit#")
    rows = list(
        graph.query(
            """SELECT ?activity ?dataset ?start WHERE {
                 ?activity a prov:Activity ; prov:used ?dataset ;
                           tsunagu:underAgreement ?agreement ; prov:startedAtTime ?start . }""",
            initNs={"prov": p_ns, "tsunagu": t_ns},
            initBindings={"agreement": URIRef(agreement)},
        )
    )
    assert [str(r[1]) for r in rows] == ["urn:tsunagu:dataset:202151:river"]
    assert (
        URIRef(agreement),
        URIRef("http://www.w3.org/ns/odrl/2/assigner"),
        URIRef(provider.did),
    ) in graph


async def test_verify_shows_entries_per_second_on_a_terminal_only(
    space: LocalDataspace, tmp_path: Path
) -> None:
    await exchange(space)
    provider = space["provider"]
    auditor = space["auditor"].settings.directory
    args = ["audit", "verify", provider.did, "--as", str(auditor)]
    args += ["--state", str(tmp_path / "state.json")]
    shown = await anyio.to_thread.run_sync(
        lambda: CliRunner().invoke(main, args, env={"TTY_COMPATIBLE": "1"})
    )
    assert shown.exit_code == 0, shown.output
    assert "entries/s" in shown.stderr and "reading" in shown.stderr
    assert re.search(r"\b([1-9]\d*)/\1\b", shown.stderr)  # every entry of the log read
    assert "clean" in shown.stdout and "entries/s" not in shown.stdout
    piped = await tsunagu(*args)
    assert piped.exit_code == 0 and "entries/s" not in piped.output
