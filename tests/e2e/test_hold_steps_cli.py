"""Every hold point, for both roles, taken or ended by the operator through the CLI, against
two running connectors: the step is not taken until the command runs, the command prints the
state after it, and the right DSP message reaches the peer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from connector.control.hold_rules import HoldSettings, Steps
from connector.demo.localspace import LocalDataspace, Participant
from connector.store.tables import TransferRow
from tests.e2e.conftest import members_offer, open_offer
from tests.e2e.holds_support import (
    configure,
    field,
    offer_to_consumer,
    only_waiting,
    paid_offer,
    peer_message,
    shown,
    tsunagu,
)

pytestmark = pytest.mark.anyio
DATASET = "urn:tsunagu:dataset:202151:water-level"


def messages(record: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["direction"], e["message"]) for e in record["events"]]


async def history(who: Participant, kind: str, pid: str) -> list[tuple[str, str]]:
    return messages(await who.client.call("GET", f"/{kind}/{pid}"))


async def publish_from_cli(
    space: LocalDataspace, tmp_path: Path, offer: dict[str, Any], *options: str
) -> None:
    """`tsunagu dataset add` with the offer in a file and `options` (--step, ...)."""
    policy = tmp_path / "offer.json"
    policy.write_text(json.dumps(offer))
    result = await tsunagu(
        "dataset",
        "add",
        space["provider"].settings.directory,
        "--id",
        DATASET,
        "--title",
        "water level",
        "--policy",
        policy,
        "--data-address",
        json.dumps({"type": "HttpData", "baseUrl": "http://owner.invalid/api"}),
        *options,
    )
    assert result.exit_code == 0, result.output


async def test_the_provider_takes_each_held_step_from_the_cli(
    space: LocalDataspace, tmp_path: Path
) -> None:
    provider, consumer = space["provider"], space["consumer"]
    pdir, cdir = provider.settings.directory, consumer.settings.directory
    await publish_from_cli(
        space,
        tmp_path,
        open_offer("urn:offer:held"),
        "--requires-approval",
        "--step",
        "finalize=hold",
        "--step",
        "transfer_start=hold",
    )
    [offer] = (await provider.client.call("GET", f"/datasets/{DATASET}"))["offers"]
    assert offer["steps"] == {"finalize": "hold", "transfer_start": "hold"}

    # The consumer's negotiate does not run into its timeout: it says the provider decides.
    asked = await tsunagu("negotiate", cdir, provider.did, DATASET, "--timeout", "4")
    assert asked.exit_code == 0, asked.output
    kind, state, cpid = shown(asked.output)
    assert (kind, state) == ("negotiation", "REQUESTED")
    assert "still waiting for the provider after 4s" in asked.output
    assert field(asked.output, "awaiting").startswith("the provider's next message")

    listed = await tsunagu("negotiations", "list", pdir, "--waiting")
    [ppid] = [line.split()[0] for line in listed.output.splitlines() if "REQUESTED" in line]
    assert "the offer needs the operator's approval" in listed.output
    held = await tsunagu("negotiations", "show", pdir, ppid)
    assert field(held.output, "next") == (
        f"tsunagu negotiations approve {pdir} {ppid}  (or counter --policy FILE, terminate)"
    )
    assert "local    HOLD             waits for AGREEMENT" in held.output
    assert ("outbound", "AGREEMENT") not in await history(provider, "negotiations", ppid)

    agreed = await tsunagu("negotiations", "approve", pdir, ppid)
    assert agreed.exit_code == 0, agreed.output
    assert shown(agreed.output)[::2] == ("negotiation", ppid)
    verified = await provider.client.wait_for("negotiations", ppid, ["FINALIZED"], or_waiting=True)
    assert (verified["state"], verified["waiting"]["for"]) == ("VERIFIED", "FINALIZED")
    assert ("inbound", "AGREEMENT") in await history(consumer, "negotiations", cpid)
    assert (await consumer.client.call("GET", f"/negotiations/{cpid}"))["state"] == "VERIFIED"

    finalized = await tsunagu("negotiations", "finalize", pdir, ppid)
    assert finalized.exit_code == 0, finalized.output
    assert shown(finalized.output) == ("negotiation", "FINALIZED", ppid)
    done = await consumer.client.wait_for("negotiations", cpid, ["FINALIZED"])
    assert done["state"] == "FINALIZED"
    assert ("inbound", "FINALIZED") in messages(done)

    # The transfer: the consumer's start ends waiting for the provider, exit 0, not a timeout.
    started = await tsunagu("transfer", "start", cdir, done["agreement_id"], "--timeout", "4")
    assert started.exit_code == 0, started.output
    kind, state, ctid = shown(started.output)
    assert (kind, state) == ("transfer", "REQUESTED")
    assert "still waiting for the provider to start it after 4s" in started.output
    assert field(started.output, "awaiting").startswith("the provider's next message")
    waiting = await tsunagu("transfer", "list", pdir, "--waiting")
    assert "start the transfer" in waiting.output
    [ptid] = [line.split()[0] for line in waiting.output.splitlines() if "REQUESTED" in line]
    approved = await tsunagu("transfer", "approve", pdir, ptid)
    assert approved.exit_code == 0, approved.output
    assert shown(approved.output) == ("transfer", "STARTED", ptid)
    at_consumer = await consumer.client.wait_for("transfers", ctid, ["STARTED"])
    assert at_consumer["state"] == "STARTED"
    assert ("inbound", "START") in await history(consumer, "transfers", ctid)


async def test_the_consumer_takes_each_held_step_from_the_cli(
    space: LocalDataspace, tmp_path: Path
) -> None:
    """The provider pushes an offer from the CLI (the consumer's address from its DID
    document) and holds its agreement after ACCEPTED; the consumer (`[consumer] verify =
    "hold"`, no acceptance rule) holds its acceptance and its verification."""
    consumer = await configure(space, "consumer", HoldSettings(steps=Steps(verify="hold")))
    provider = space["provider"]
    pdir, cdir = provider.settings.directory, consumer.settings.directory
    await publish_from_cli(
        space, tmp_path, open_offer("urn:offer:push"), "--step", "after_accept=hold"
    )
    pushed = await tsunagu("negotiations", "offer", pdir, consumer.did, DATASET)
    assert pushed.exit_code == 0, pushed.output
    kind, state, ppid = shown(pushed.output)
    assert (kind, state, field(pushed.output, "role")) == ("negotiation", "OFFERED", "provider")
    assert "the consumer has the offer" in pushed.output

    listed = await tsunagu("negotiations", "list", cdir, "--waiting")
    [cpid] = [line.split()[0] for line in listed.output.splitlines() if "OFFERED" in line]
    assert "the provider opened with an offer and no acceptance rule" in listed.output
    assert await history(consumer, "negotiations", cpid) == [
        ("inbound", "CONTRACT_OFFER"),
        ("local", "HOLD"),
    ]

    accepted = await tsunagu("negotiations", "accept", cdir, cpid)
    assert accepted.exit_code == 0, accepted.output
    assert shown(accepted.output) == ("negotiation", "ACCEPTED", cpid)
    at_provider = await provider.client.wait_for("negotiations", ppid, ["AGREED"], or_waiting=True)
    assert (at_provider["state"], at_provider["waiting"]["for"]) == ("ACCEPTED", "AGREEMENT")
    assert ("inbound", "ACCEPTED") in await history(provider, "negotiations", ppid)
    assert await provider.client.call("GET", "/agreements") == []

    agreed = await tsunagu("negotiations", "approve", pdir, ppid)
    assert agreed.exit_code == 0, agreed.output
    at_consumer = await consumer.client.wait_for(
        "negotiations", cpid, ["FINALIZED"], or_waiting=True
    )
    assert (at_consumer["state"], at_consumer["waiting"]["for"]) == ("AGREED", "VERIFICATION")
    assert ("inbound", "AGREEMENT") in messages(at_consumer)
    assert (await provider.client.call("GET", f"/negotiations/{ppid}"))["state"] == "AGREED"

    verified = await tsunagu("negotiations", "verify", cdir, cpid)
    assert verified.exit_code == 0, verified.output
    assert shown(verified.output)[2] == cpid
    done = await provider.client.wait_for("negotiations", ppid, ["FINALIZED"])
    assert done["state"] == "FINALIZED"
    assert ("inbound", "VERIFICATION") in messages(done)
    assert (await consumer.client.wait_for("negotiations", cpid, ["FINALIZED"]))[
        "agreement_id"
    ] == done["agreement_id"]


async def test_the_provider_counters_from_the_cli_and_the_consumer_accepts(
    space: LocalDataspace, tmp_path: Path
) -> None:
    """A counter-offer round trip initiated by the consumer's request, answered from the
    provider's CLI: the consumer holds the other terms, its operator accepts them."""
    provider, consumer = space["provider"], space["consumer"]
    pdir, cdir = provider.settings.directory, consumer.settings.directory
    await publish_from_cli(space, tmp_path, open_offer("urn:offer:ask"), "--requires-approval")
    asked = await consumer.client.call(
        "POST", "/negotiations", json={"provider": provider.did, "dataset_id": DATASET}
    )
    ppid = (await consumer.client.wait_for("negotiations", asked["id"], ["REQUESTED"]))["peer_pid"]
    assert (await only_waiting(provider))["id"] == ppid
    terms = tmp_path / "members.json"
    # no @id: the operator need not invent one, a fresh urn:uuid names the terms
    unnamed = {k: v for k, v in members_offer("-").items() if k != "@id"}
    terms.write_text(json.dumps(unnamed))
    countered = await tsunagu("negotiations", "counter", pdir, ppid, "--policy", terms)
    assert countered.exit_code == 0, countered.output
    assert shown(countered.output) == ("negotiation", "OFFERED", ppid)
    assert ("outbound", "CONTRACT_OFFER") in await history(provider, "negotiations", ppid)
    offered = await provider.client.call("GET", f"/negotiations/{ppid}")
    assert offered["offer"]["@id"].startswith("urn:uuid:")

    held = await consumer.client.wait_for(
        "negotiations", asked["id"], ["FINALIZED"], or_waiting=True
    )
    assert (held["state"], held["waiting"]["for"]) == ("OFFERED", "ACCEPTED")
    assert "differ from what we asked" in held["waiting"]["detail"]["reason"]
    accepted = await tsunagu("negotiations", "accept", cdir, asked["id"])
    assert accepted.exit_code == 0, accepted.output
    done = await consumer.client.wait_for("negotiations", asked["id"], ["FINALIZED"])
    agreement = await consumer.client.call("GET", f"/agreements/{done['agreement_id']}")
    operands = {c["leftOperand"] for c in agreement["policy"]["permission"][0]["constraint"]}
    assert operands == {"role", "memberships"}  # the provider's counter terms


# -- terminating at each hold point --------------------------------------------------------------


@dataclass(frozen=True)
class HoldPoint:
    holder: str  # who waits: "provider" or "consumer"
    kind: str  # negotiations or transfers
    state: str  # where it waits
    waiting_for: str


POINTS = {
    "provider-agree": HoldPoint("provider", "negotiations", "REQUESTED", "AGREEMENT"),
    "provider-after-accept": HoldPoint("provider", "negotiations", "ACCEPTED", "AGREEMENT"),
    "provider-finalize": HoldPoint("provider", "negotiations", "VERIFIED", "FINALIZED"),
    "provider-transfer-start": HoldPoint("provider", "transfers", "REQUESTED", "START"),
    "consumer-accept": HoldPoint("consumer", "negotiations", "OFFERED", "ACCEPTED"),
    "consumer-verify": HoldPoint("consumer", "negotiations", "AGREED", "VERIFICATION"),
}


async def reach(space: LocalDataspace, name: str) -> dict[str, Any]:
    """Bring a negotiation (or transfer) to hold point `name`; the holder's record."""
    provider, consumer = space["provider"], space["consumer"]
    steps = {
        "provider-after-accept": {"after_accept": "hold"},
        "provider-finalize": {"finalize": "hold"},
        "provider-transfer-start": {"transfer_start": "hold"},
    }.get(name, {})
    offer = {
        "policy": open_offer("urn:offer:t"),
        "requires_approval": name == "provider-agree",
        "steps": steps,
    }
    await provider.client.call(
        "POST", "/datasets", json={"id": DATASET, "title": "t", "offers": [offer]}
    )
    if name in ("consumer-accept", "provider-after-accept"):
        started = await offer_to_consumer(space, DATASET, "urn:offer:t")
        await provider.client.wait_for("negotiations", started["id"], ["OFFERED"])
        if name == "consumer-accept":
            return await only_waiting(consumer)
        cpid = (await only_waiting(consumer))["id"]
        await consumer.client.call("POST", f"/negotiations/{cpid}/approve")
        return await provider.client.wait_for(
            "negotiations", started["id"], ["AGREED"], or_waiting=True
        )
    body: dict[str, Any] = {"provider": provider.did, "dataset_id": DATASET}
    if name == "consumer-verify":
        body["verify"] = "hold"
    asked = await consumer.client.call("POST", "/negotiations", json=body)
    if name == "consumer-verify":
        return await consumer.client.wait_for(
            "negotiations", asked["id"], ["FINALIZED"], or_waiting=True
        )
    if name in ("provider-agree", "provider-finalize"):
        there = "REQUESTED" if name == "provider-agree" else "VERIFIED"
        await consumer.client.wait_for("negotiations", asked["id"], [there])
        ppid = (await only_waiting(provider))["id"]
        return await provider.client.wait_for("negotiations", ppid, ["FINALIZED"], or_waiting=True)
    done = await consumer.client.wait_for("negotiations", asked["id"], ["FINALIZED"])
    await provider.client.wait_for("negotiations", done["peer_pid"], ["FINALIZED"])
    transfer = await consumer.client.call(
        "POST", "/transfers", json={"agreement_id": done["agreement_id"]}
    )
    await consumer.client.wait_for("transfers", transfer["id"], ["REQUESTED"])
    return await only_waiting(provider, "transfers")


@pytest.mark.parametrize("name", list(POINTS))
async def test_terminating_at_each_hold_point_tells_the_peer(
    space: LocalDataspace, name: str
) -> None:
    point = POINTS[name]
    held = await reach(space, name)
    assert (held["state"], held["waiting"]["for"]) == (point.state, point.waiting_for)
    holder = space[point.holder]
    peer = space["consumer" if point.holder == "provider" else "provider"]
    peer_pid = held["peer_pid"]
    group = "negotiations" if point.kind == "negotiations" else "transfer"

    ended = await tsunagu(
        group, "terminate", holder.settings.directory, held["id"], "--reason", "not this one"
    )
    assert ended.exit_code == 0, ended.output
    assert shown(ended.output)[1:] == ("TERMINATED", held["id"])
    ours = await holder.client.call("GET", f"/{point.kind}/{held['id']}")
    assert ours["waiting"] is None and ours["pending"] is None
    assert messages(ours)[-2:] == [("local", "OPERATOR"), ("outbound", "TERMINATION")]
    theirs = await peer.client.wait_for(point.kind, peer_pid, ["TERMINATED"])
    assert theirs["state"] == "TERMINATED"
    [received] = [e for e in theirs["events"] if e["message"] == "TERMINATION"]
    assert received["direction"] == "inbound" and received["from"] == point.state
    assert "not this one" in json.dumps(received["detail"])
    assert await holder.client.call("GET", f"/{point.kind}", params={"waiting": "true"}) == []


# -- a pushed offer with a price, and bad input ------------------------------------------------


async def test_a_pushed_paid_offer_does_not_bind_a_consumer_without_rules(
    space: LocalDataspace,
) -> None:
    """The consumer has no acceptance rule at all: the offer waits for its operator, nothing
    is sent back, and an agreement the provider sends anyway is refused and stored nowhere."""
    provider, consumer = space["provider"], space["consumer"]
    await provider.client.call(
        "POST",
        "/datasets",
        json={"id": DATASET, "title": "t", "offers": [{"policy": paid_offer("urn:offer:paid")}]},
    )
    pushed = await tsunagu(
        "negotiations",
        "offer",
        provider.settings.directory,
        consumer.did,
        DATASET,
        "--address",  # given, not found from the consumer's DID document
        consumer.settings.dsp_base,
    )
    assert pushed.exit_code == 0, pushed.output
    ppid = shown(pushed.output)[2]
    assert (await provider.client.call("GET", f"/negotiations/{ppid}"))[
        "counterparty_address"
    ] == consumer.settings.dsp_base
    held = await only_waiting(consumer)
    assert (held["state"], held["pending"]) == ("OFFERED", None)
    assert "no acceptance rule is configured" in held["waiting"]["detail"]["reason"]
    status, error = await peer_message(
        space,
        "provider",
        f"/negotiations/{held['id']}/agreement",
        {
            "@type": "ContractAgreementMessage",
            "providerPid": ppid,
            "consumerPid": held["id"],
            "agreement": {
                **paid_offer("urn:agreement:pushed"),
                "@type": "Agreement",
                "target": DATASET,
                "assigner": provider.did,
                "assignee": consumer.did,
                "timestamp": "2026-04-01T00:00:00Z",
            },
        },
    )
    assert (status, error.get("code")) == (400, "invalid_transition"), error
    after = await consumer.client.call("GET", f"/negotiations/{held['id']}")
    assert (after["state"], after["waiting"]["for"], after["agreement_id"]) == (
        "OFFERED",
        "ACCEPTED",
        None,
    )
    assert [d for d, _ in messages(after)] == ["inbound", "local"]  # nothing sent back
    assert await consumer.client.call("GET", "/agreements") == []
    at_provider = await provider.client.call("GET", f"/negotiations/{ppid}")
    assert (at_provider["state"], at_provider["pending"]) == ("OFFERED", None)


async def test_bad_steps_and_offers_are_one_line_and_change_nothing(
    space: LocalDataspace, tmp_path: Path
) -> None:
    provider = space["provider"]
    pdir = provider.settings.directory
    for step, says in (
        ("finalize=maybe", "finalize must be one of auto, hold, not 'maybe' [invalid_steps]"),
        ("verify=hold", "verify is not an offer's step"),
        ("finalize", "'finalize' is not STEP=CHOICE"),
    ):
        result = await tsunagu(
            "dataset", "add", pdir, "--id", DATASET, "--title", "t", "--step", step
        )
        assert result.exit_code != 0
        assert says in result.output and "Traceback" not in result.output
    assert await provider.client.call("GET", "/datasets") == []

    await publish_from_cli(space, tmp_path, open_offer("urn:offer:ok"))
    unknown = await tsunagu(
        "negotiations", "offer", pdir, space["consumer"].did, DATASET, "--offer", "urn:offer:no"
    )
    assert unknown.exit_code == 1
    assert unknown.output.strip().endswith("[unknown_offer]")
    assert len(unknown.output.strip().splitlines()) == 1
    assert await provider.client.call("GET", "/negotiations") == []


async def test_participant_defaults_hold_and_an_offers_own_steps_win(
    space: LocalDataspace, tmp_path: Path
) -> None:
    """`[provider] finalize = "hold"` and `transfer_start = "hold"` in tsunagu.toml; an offer
    published with `--step finalize=auto` finalizes at once, its transfers still wait."""
    provider = await configure(
        space, "provider", HoldSettings(steps=Steps(finalize="hold", transfer_start="hold"))
    )
    consumer = space["consumer"]
    await publish_from_cli(space, tmp_path, open_offer("urn:offer:own"), "--step", "finalize=auto")
    result = await tsunagu(
        "negotiate", consumer.settings.directory, provider.did, DATASET, "--timeout", "20"
    )
    assert result.exit_code == 0, result.output
    assert shown(result.output)[1] == "FINALIZED"
    assert await provider.client.call("GET", "/negotiations", params={"waiting": "true"}) == []
    agreement = field(result.output, "agreement id")
    started = await tsunagu(
        "transfer", "start", consumer.settings.directory, agreement, "--timeout", "4"
    )
    assert started.exit_code == 0, started.output
    assert shown(started.output)[1] == "REQUESTED"
    held = await only_waiting(provider, "transfers")
    assert (held["state"], held["waiting"]["for"]) == ("REQUESTED", "START")


async def settle(space: LocalDataspace) -> None:
    """Step both runners until neither has anything to send (bounded)."""
    for _ in range(20):
        sent = await space["provider"].connector.runner.run_once()
        sent += await space["consumer"].connector.runner.run_once()
        if not sent:
            return
    raise AssertionError("the runners never settled")


async def test_a_transfer_message_the_peer_answers_404_waits_and_is_sent_again_from_the_cli(
    stepped: LocalDataspace,
) -> None:
    provider, consumer = stepped["provider"], stepped["consumer"]
    pdir = provider.settings.directory
    await provider.client.call(
        "POST",
        "/datasets",
        json={"id": DATASET, "title": "t", "offers": [{"policy": open_offer("urn:offer:404")}]},
    )
    asked = await consumer.client.call(
        "POST", "/negotiations", json={"provider": provider.did, "dataset_id": DATASET}
    )
    await settle(stepped)
    done = await consumer.client.call("GET", f"/negotiations/{asked['id']}")
    assert done["state"] == "FINALIZED"
    transfer = await consumer.client.call(
        "POST", "/transfers", json={"agreement_id": done["agreement_id"]}
    )
    await consumer.connector.runner.run_once()  # the request; the provider owes START
    [owed] = await provider.client.call("GET", "/transfers")
    assert owed["pending"] == "START"

    def point_at(peer_pid: str) -> None:  # which consumer process the provider talks to
        with provider.connector.store.transaction() as tx:
            row = tx.process(TransferRow, owed["id"])
            row.peer_pid = peer_pid
            tx.add(row)

    point_at("urn:uuid:00000000-0000-0000-0000-000000000000")  # one the consumer never had
    assert await provider.connector.runner.run_once() == 1  # answered 404
    assert await provider.connector.runner.run_once() == 0  # not retried
    listed = await tsunagu("transfer", "list", pdir, "--waiting")
    assert owed["id"] in listed.output and "answered 404" in listed.output
    shown_now = await tsunagu("transfer", "show", pdir, owed["id"])
    assert field(shown_now.output, "next") == (
        f"tsunagu transfer approve {pdir} {owed['id']}  (to send it again, or terminate)"
    )
    assert "404" in field(shown_now.output, "last error")

    point_at(transfer["id"])  # the operator fixed what the peer did not know
    again = await tsunagu("transfer", "approve", pdir, owed["id"], "--no-wait")
    assert again.exit_code == 0, again.output
    assert "sending START to the peer" in again.output
    await settle(stepped)
    started = await consumer.client.call("GET", f"/transfers/{transfer['id']}")
    assert started["state"] == "STARTED"
    assert ("inbound", "START") in messages(started)
