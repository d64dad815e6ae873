"""Transfers under the owner's rules, a peer that forgot a process, the webhook, and
revocation: between two real connectors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastapi import FastAPI, Request

from connector.clock import ManualClock
from connector.control.hold_rules import HoldSettings
from connector.demo.localspace import LocalDataspace
from connector.serving import BackgroundServer, free_port
from connector.store.tables import NegotiationRow
from policies.model import format_timestamp
from tests.e2e.conftest import COUNCIL, open_offer, publish
from tests.e2e.holds_support import (
    configure,
    offer_to_consumer,
    only_waiting,
    peer_message,
    window_offer,
)

pytestmark = pytest.mark.anyio
DATASET = "urn:tsunagu:dataset:202151:water-level"


async def publish_with_steps(space: LocalDataspace, offer: dict[str, Any], **steps: str) -> None:
    body = {
        "id": DATASET,
        "title": "water level",
        "data_address": {"type": "HttpData", "baseUrl": "http://owner.invalid/api"},
        "offers": [{"policy": offer, "steps": steps}],
    }
    await space["provider"].client.call("POST", "/datasets", json=body)


async def agreed(space: LocalDataspace) -> dict[str, Any]:
    """The consumer negotiates for the dataset's offer; its FINALIZED negotiation."""
    consumer = space["consumer"].client
    asked = await consumer.call(
        "POST", "/negotiations", json={"provider": space["provider"].did, "dataset_id": DATASET}
    )
    done: dict[str, Any] = await consumer.wait_for(
        "negotiations", asked["id"], ["FINALIZED"], timeout=20
    )
    assert done["state"] == "FINALIZED"
    # the provider records FINALIZED once the consumer's ACK is back
    await space["provider"].client.wait_for("negotiations", done["peer_pid"], ["FINALIZED"])
    return done


async def test_a_held_transfer_starts_only_when_the_provider_operator_says_so(
    space: LocalDataspace,
) -> None:
    provider, consumer = space["provider"], space["consumer"]
    await publish_with_steps(space, open_offer("urn:offer:t"), transfer_start="hold")
    done = await agreed(space)
    transfer = await consumer.client.call(
        "POST", "/transfers", json={"agreement_id": done["agreement_id"]}
    )
    requested = await consumer.client.wait_for("transfers", transfer["id"], ["REQUESTED"])
    held = await only_waiting(provider, "transfers")
    assert (held["id"], held["state"], held["pending"]) == (
        requested["peer_pid"],
        "REQUESTED",
        None,
    )
    assert held["waiting"]["for"] == "START" and held["waiting"]["since"]
    # A completion while we have not started: nothing our held step could have caused.
    status, _ = await peer_message(
        space,
        "consumer",
        f"/transfers/{held['id']}/completion",
        {
            "@type": "TransferCompletionMessage",
            "providerPid": held["id"],
            "consumerPid": transfer["id"],
        },
    )
    assert status == 400
    unchanged = await provider.client.call("GET", f"/transfers/{held['id']}")
    assert (unchanged["state"], unchanged["waiting"]["for"]) == ("REQUESTED", "START")
    assert (await consumer.client.call("GET", f"/transfers/{transfer['id']}"))[
        "state"
    ] == "REQUESTED"
    approved = await provider.client.call("POST", f"/transfers/{held['id']}/approve")
    assert approved["waiting"] is None and approved["pending"] == "START"
    started = await consumer.client.wait_for("transfers", transfer["id"], ["STARTED"])
    assert started["state"] == "STARTED" and started["data_address"]
    assert await provider.client.call("GET", "/transfers", params={"waiting": "true"}) == []


async def test_revoking_an_agreement_terminates_its_transfers(space: LocalDataspace) -> None:
    provider, consumer = space["provider"], space["consumer"]
    await publish(provider, DATASET, open_offer("urn:offer:r"))
    done = await agreed(space)
    transfer = await consumer.client.call(
        "POST", "/transfers", json={"agreement_id": done["agreement_id"]}
    )
    await consumer.client.wait_for("transfers", transfer["id"], ["STARTED"])
    revoked = await provider.client.call(
        "POST", f"/agreements/{done['agreement_id']}/revoke", json={"reason": "flood over"}
    )
    [ended] = revoked["terminated_transfers"]
    at_provider = await provider.client.wait_for("transfers", ended, ["TERMINATED"])
    assert at_provider["state"] == "TERMINATED"
    at_consumer = await consumer.client.wait_for("transfers", transfer["id"], ["TERMINATED"])
    assert at_consumer["state"] == "TERMINATED"
    assert at_consumer["events"][-1]["detail"]["code"] == "agreement_revoked"


async def test_a_peers_404_is_held_for_the_operator_not_retried(
    stepped: LocalDataspace,
) -> None:
    provider, consumer = stepped["provider"], stepped["consumer"]
    await publish(provider, DATASET, open_offer("urn:offer:lost"))
    await consumer.client.call(
        "POST", "/negotiations", json={"provider": provider.did, "dataset_id": DATASET}
    )
    await consumer.connector.runner.run_once()  # the request; the provider owes AGREEMENT
    [owed] = await provider.client.call("GET", "/negotiations")
    assert owed["pending"] == "AGREEMENT"

    def forget() -> None:  # the consumer's side no longer knows this process id
        with provider.connector.store.transaction() as tx:
            row = tx.process(NegotiationRow, owed["id"])
            row.peer_pid = "urn:uuid:00000000-0000-0000-0000-000000000000"
            tx.add(row)

    forget()
    assert await provider.connector.runner.run_once() == 1  # answered 404
    held = await only_waiting(provider)
    assert (held["state"], held["pending"], held["waiting"]["for"]) == (
        "REQUESTED",
        None,
        "peer_not_found",
    )
    assert "404" in held["waiting"]["detail"]["error"] and "404" in held["last_error"]
    assert await provider.connector.runner.run_once() == 0  # not retried
    ended = await provider.client.call(
        "POST", f"/negotiations/{held['id']}/terminate", json={"reason": "lost"}
    )
    assert ended["state"] == "TERMINATED" and ended["pending"] is None
    assert await provider.connector.runner.run_once() == 0  # ended here: nothing to send


@pytest.fixture
async def timed(
    tmp_path: Path, database_for: Callable[[str], str | None]
) -> AsyncIterator[tuple[LocalDataspace, ManualClock]]:
    """Provider and consumer on one manual clock, runners stepped by the test."""
    clock = ManualClock()
    async with LocalDataspace(
        tmp_path, clock=clock, database_url_for=database_for, background=False
    ) as space:
        await space.start_authority()
        await space.add("provider", "A市", municipality_code="202151", memberships=[COUNCIL])
        await space.add("consumer", "C村", municipality_code="204323", memberships=[COUNCIL])
        yield space, clock


async def step(space: LocalDataspace, rounds: int = 4) -> None:
    for _ in range(rounds):
        await space["provider"].connector.runner.run_once()
        await space["consumer"].connector.runner.run_once()


async def test_a_transfer_starts_when_the_agreements_window_opens(
    timed: tuple[LocalDataspace, ManualClock],
) -> None:
    space, clock = timed
    provider, consumer = space["provider"], space["consumer"]
    opens = clock() + timedelta(hours=1)
    offer = window_offer("urn:offer:w", format_timestamp(opens))
    await publish_with_steps(space, offer, transfer_start="window")
    started = await offer_to_consumer(space, DATASET, "urn:offer:w")
    await step(space, 1)
    cpid = (await only_waiting(consumer))["id"]  # a pushed offer waits for the consumer
    await consumer.client.call("POST", f"/negotiations/{cpid}/approve")
    await step(space)
    done = await provider.client.call("GET", f"/negotiations/{started['id']}")
    assert done["state"] == "FINALIZED"
    transfer = await consumer.client.call(
        "POST", "/transfers", json={"agreement_id": done["agreement_id"]}
    )
    await step(space, 1)
    held = await only_waiting(provider, "transfers")
    assert (held["state"], held["pending"]) == ("REQUESTED", "START")
    assert held["waiting"]["detail"]["window_opens"] == opens.isoformat()
    # Our start is owed but not due, so not in flight: a completion cannot answer it.
    status, _ = await peer_message(
        space,
        "consumer",
        f"/transfers/{held['id']}/completion",
        {
            "@type": "TransferCompletionMessage",
            "providerPid": held["id"],
            "consumerPid": transfer["id"],
        },
    )
    assert status == 400
    unchanged = await provider.client.call("GET", f"/transfers/{held['id']}")
    assert (unchanged["state"], unchanged["pending"]) == ("REQUESTED", "START")
    await step(space)
    assert (await provider.client.call("GET", f"/transfers/{held['id']}"))["state"] == "REQUESTED"
    clock.advance(3601)
    await step(space, 1)
    now = await consumer.client.call("GET", f"/transfers/{transfer['id']}")
    assert now["state"] == "STARTED" and now["data_address"]
    assert await provider.client.call("GET", "/transfers", params={"waiting": "true"}) == []


async def test_a_new_hold_is_posted_to_the_webhook(space: LocalDataspace) -> None:
    received: list[dict[str, Any]] = []
    arrived = anyio.Event()
    hook = FastAPI()

    @hook.post("/hook")
    async def take(request: Request) -> dict[str, str]:
        received.append(await request.json())
        arrived.set()
        return {}

    port = free_port()
    server = BackgroundServer(hook, host="127.0.0.1", port=port)
    await server.start()
    try:
        # dev mode lets the outbound policy reach loopback
        consumer = await configure(
            space, "consumer", HoldSettings(webhook=f"http://127.0.0.1:{port}/hook")
        )
        await publish(space["provider"], DATASET, open_offer("urn:offer:hook"))
        await offer_to_consumer(space, DATASET, "urn:offer:hook")
        with anyio.fail_after(20):
            await arrived.wait()
    finally:
        await server.stop()
    [notice] = received
    held = await only_waiting(consumer)
    assert notice["id"] == held["id"] and notice["process"] == "negotiation"
    assert (notice["waiting_for"], notice["state"], notice["role"]) == (
        "ACCEPTED",
        "OFFERED",
        "consumer",
    )
    assert notice["since"] and "accept" in notice["description"]
