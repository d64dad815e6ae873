"""The operator's commands for held steps, against two running connectors: listing what
waits, accepting, countering, starting a held transfer, revoking; each prints the state after
the change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connector.demo.localspace import LocalDataspace
from tests.e2e.conftest import members_offer, open_offer
from tests.e2e.holds_support import field, offer_to_consumer, shown, tsunagu

pytestmark = pytest.mark.anyio
DATASET = "urn:tsunagu:dataset:202151:water-level"


async def test_operator_accepts_and_counters_from_the_cli(
    space: LocalDataspace, tmp_path: Path
) -> None:
    provider, consumer = space["provider"], space["consumer"]
    body = {
        "id": DATASET,
        "title": "water level",
        "data_address": {"type": "HttpData", "baseUrl": "http://owner.invalid/api"},
        "offers": [{"policy": open_offer("urn:offer:cli"), "steps": {"transfer_start": "hold"}}],
    }
    await provider.client.call("POST", "/datasets", json=body)
    started = await offer_to_consumer(space, DATASET, "urn:offer:cli")
    await provider.client.wait_for("negotiations", started["id"], ["OFFERED"])
    cdir = consumer.settings.directory

    listed = await tsunagu("negotiations", "list", cdir, "--waiting")
    assert listed.exit_code == 0, listed.output
    header, *rows = listed.output.splitlines()
    assert header.split()[:2] == ["process", "id"]  # a table, ids up front
    [row] = [line for line in rows if "OFFERED" in line]
    assert "since" in row and "accept the provider's offer" in row
    cpid = row.split()[0]

    # The consumer counters; the provider (its offer needs no approval, but a counter-request
    # with other terms waits) counters back from the CLI as well.
    policy = tmp_path / "counter.json"
    policy.write_text(json.dumps(members_offer("urn:offer:cli-consumer")))
    countered = await tsunagu("negotiations", "counter", cdir, cpid, "--policy", policy)
    assert countered.exit_code == 0, countered.output
    assert shown(countered.output) == ("negotiation", "REQUESTED", cpid)  # after the change

    pdir = provider.settings.directory
    waiting = await tsunagu("negotiations", "list", pdir, "--waiting")
    assert started["id"] in waiting.output and "REQUESTED" in waiting.output
    agreed = await tsunagu("negotiations", "approve", pdir, started["id"])
    assert agreed.exit_code == 0, agreed.output
    # AGREED once our agreement is delivered; the consumer may verify before we print
    kind, state, pid = shown(agreed.output)
    assert (kind, pid, field(agreed.output, "role")) == ("negotiation", started["id"], "provider")
    assert state in ("AGREED", "VERIFIED", "FINALIZED")
    done = await consumer.client.wait_for("negotiations", cpid, ["FINALIZED"], timeout=20)
    assert done["state"] == "FINALIZED"

    transfer = await consumer.client.call(
        "POST", "/transfers", json={"agreement_id": done["agreement_id"]}
    )
    await consumer.client.wait_for("transfers", transfer["id"], ["REQUESTED"])
    held = await tsunagu("transfer", "list", pdir, "--waiting")
    assert "REQUESTED" in held.output and "start the transfer" in held.output
    [tpid] = [line.split()[0] for line in held.output.splitlines() if "REQUESTED" in line]
    approved = await tsunagu("transfer", "approve", pdir, tpid)
    assert approved.exit_code == 0, approved.output
    assert shown(approved.output) == ("transfer", "STARTED", tpid)
    assert field(approved.output, "role") == "provider"

    agreed_list = await tsunagu("agreements", "list", pdir)
    assert agreed_list.output.split()[:2] == ["agreement", "id"]
    assert done["agreement_id"] in agreed_list.output
    revoked = await tsunagu("agreements", "revoke", pdir, done["agreement_id"], "--reason", "over")
    assert revoked.exit_code == 0, revoked.output
    assert f"transfer {tpid}  TERMINATED" in revoked.output
    none = await tsunagu("transfer", "list", pdir, "--waiting")
    assert "no transfer waits for you" in none.output


async def test_approving_what_does_not_wait_is_one_line(space: LocalDataspace) -> None:
    await space["provider"].client.call(
        "POST",
        "/datasets",
        json={"id": DATASET, "title": "t", "offers": [{"policy": open_offer("urn:offer:x")}]},
    )
    asked = await space["consumer"].client.call(
        "POST", "/negotiations", json={"provider": space["provider"].did, "dataset_id": DATASET}
    )
    await space["consumer"].client.wait_for("negotiations", asked["id"], ["FINALIZED"])
    result = await tsunagu(
        "negotiations", "accept", space["consumer"].settings.directory, asked["id"]
    )
    assert result.exit_code == 1
    assert "not waiting for a decision [not_awaiting_decision]" in result.output
    assert "Traceback" not in result.output


async def test_negotiate_returns_when_a_step_waits_for_the_operator(
    space: LocalDataspace,
) -> None:
    provider, consumer = space["provider"], space["consumer"]
    await provider.client.call(
        "POST",
        "/datasets",
        json={"id": DATASET, "title": "t", "offers": [{"policy": open_offer("urn:offer:n")}]},
    )
    result = await tsunagu(
        "negotiate",
        consumer.settings.directory,
        provider.did,
        DATASET,
        "--verify",
        "hold",
        "--accept",
        json.dumps({"peers": [provider.did]}),
        "--timeout",
        "20",
    )
    assert result.exit_code == 0, result.output
    assert field(result.output, "waiting").startswith("since ")
    assert "verify the agreement" in field(result.output, "waiting")
    [held] = await consumer.client.call("GET", "/negotiations", params={"waiting": "true"})
    assert (held["state"], held["waiting"]["for"]) == ("AGREED", "VERIFICATION")
    assert field(result.output, "next") == (
        f"tsunagu negotiations verify {consumer.settings.directory} {held['id']}  (or terminate)"
    )
    verified = await tsunagu("negotiations", "verify", consumer.settings.directory, held["id"])
    assert verified.exit_code == 0, verified.output
    assert shown(verified.output)[1] in ("VERIFIED", "FINALIZED")
    done = await consumer.client.wait_for("negotiations", held["id"], ["FINALIZED"])
    assert done["state"] == "FINALIZED"
