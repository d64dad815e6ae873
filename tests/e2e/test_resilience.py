"""Peers that are down, come back, or rotate their keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.clock import ManualClock
from connector.control.dispatcher import PeerRejected
from connector.demo.localspace import LocalDataspace
from connector.serving import free_port
from connector.store.tables import NegotiationRow, TransferRow
from policies.odrl import parse_policy
from tests.e2e.conftest import open_offer, publish

pytestmark = pytest.mark.anyio
DATASET = "urn:tsunagu:dataset:resilience"


def pending(space: LocalDataspace, key: str, pid: str) -> NegotiationRow:
    with space[key].connector.store.transaction() as tx:
        return tx.process(NegotiationRow, pid)


async def test_unreachable_peer_is_retried_with_backoff_then_given_up(tmp_path: Path) -> None:
    clock = ManualClock()
    async with LocalDataspace(tmp_path, clock=clock, background=False) as space:
        await space.start_authority()
        consumer = await space.add("consumer", "C村")
        closed = f"http://127.0.0.1:{free_port()}/dsp/2025-1"  # nobody listens there
        row = consumer.connector.negotiations.request(
            provider_did="did:web:localhost%3A1",
            provider_address=closed,
            dataset_id=DATASET,
            offer=parse_policy(open_offer("urn:offer:x")),
        )
        runner = consumer.connector.runner
        delays = []
        for _ in range(runner.max_attempts):
            assert await runner.run_once() == 1
            after = pending(space, "consumer", row.id)
            if after.state == "TERMINATED":
                break
            delays.append((after.next_attempt_at - clock()).total_seconds())
            assert await runner.run_once() == 0  # not due yet: nothing is sent early
            clock.advance(delays[-1])
        assert delays == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0]  # bounded exponential backoff
        final = pending(space, "consumer", row.id)
        assert final.state == "TERMINATED" and final.pending is None
        assert "gave up after 8 attempts" in final.last_error


async def test_a_peer_that_comes_back_finishes_the_negotiation(tmp_path: Path) -> None:
    clock = ManualClock()
    async with LocalDataspace(tmp_path, clock=clock, background=False) as space:
        await space.start_authority()
        provider = await space.add("provider", "A市")
        consumer = await space.add("consumer", "C村")
        await publish(provider, DATASET, open_offer("urn:offer:r"))
        started = await consumer.client.call(
            "POST", "/negotiations", json={"provider": provider.did, "dataset_id": DATASET}
        )
        await consumer.connector.runner.run_once()  # request delivered
        await (
            provider.connector.runner.run_once()
        )  # agreement delivered; consumer owes verification
        settings = await space.stop("provider")
        await consumer.connector.runner.run_once()  # provider down: retry later
        waiting = pending(space, "consumer", started["id"])
        assert waiting.pending == "VERIFICATION" and waiting.attempts == 1 and waiting.last_error
        restarted = await space.serve("provider", settings)
        clock.advance(1)
        await consumer.connector.runner.run_once()
        await restarted.connector.runner.run_once()
        done = await consumer.client.call("GET", f"/negotiations/{started['id']}")
        assert done["state"] == "FINALIZED"


async def test_key_rotation_does_not_break_peers(space: LocalDataspace) -> None:
    provider, consumer = space["provider"], space["consumer"]
    await publish(provider, DATASET, open_offer("urn:offer:k"))

    async def negotiate() -> dict:
        started = await consumer.client.call(
            "POST", "/negotiations", json={"provider": provider.did, "dataset_id": DATASET}
        )
        return await consumer.client.wait_for(
            "negotiations", started["id"], ["FINALIZED"], timeout=20
        )

    assert (await negotiate())["state"] == "FINALIZED"  # the provider now caches our DID document
    old = consumer.connector.keys.active.kid
    new = consumer.connector.keys.rotate().kid
    assert new != old and consumer.connector.keys.active.kid == new
    assert (await negotiate())["state"] == "FINALIZED"  # signed with the new key, still accepted


class Crash(Exception):
    """The provider process dies between delivering a message and recording the delivery."""


async def test_a_message_sent_again_after_a_crash_keeps_the_transfer(
    stepped: LocalDataspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider, consumer = stepped["provider"], stepped["consumer"]
    await publish(provider, DATASET, open_offer("urn:offer:crash"))
    await consumer.client.call(
        "POST", "/negotiations", json={"provider": provider.did, "dataset_id": DATASET}
    )
    for side in (consumer, provider, consumer, provider):  # request, agreement, verification,
        await side.connector.runner.run_once()  # finalized
    [negotiation] = await consumer.client.call("GET", "/negotiations")
    assert negotiation["state"] == "FINALIZED"
    mine = await consumer.client.call(
        "POST", "/transfers", json={"agreement_id": negotiation["agreement_id"]}
    )
    await consumer.connector.runner.run_once()  # the request; the provider owes START

    transfers = provider.connector.transfers
    monkeypatch.setattr(transfers, "on_sent", _crashing)
    with pytest.raises(Crash):
        await provider.connector.runner.run_once()  # START delivered, never recorded
    monkeypatch.undo()
    [theirs] = await provider.client.call("GET", "/transfers")
    assert (theirs["state"], theirs["pending"]) == ("REQUESTED", "START")
    assert (await consumer.client.call("GET", f"/transfers/{mine['id']}"))["state"] == "STARTED"

    with provider.connector.store.transaction() as tx:  # the dead process's lease lapses
        row = tx.process(TransferRow, theirs["id"])
        row.lease_owner = row.lease_until = None
        tx.add(row)
    assert await provider.connector.runner.run_once() == 1  # START again: acknowledged
    theirs = await provider.client.call("GET", f"/transfers/{theirs['id']}")
    assert (theirs["state"], theirs["pending"], theirs["last_error"]) == ("STARTED", None, None)

    await consumer.client.call("POST", f"/transfers/{mine['id']}/complete", json={})
    await consumer.connector.runner.run_once()
    for who, pid in ((consumer, mine["id"]), (provider, theirs["id"])):
        assert (await who.client.call("GET", f"/transfers/{pid}"))["state"] == "COMPLETED"


def _crashing(*_args: object) -> None:
    raise Crash


async def test_a_repeated_message_changes_nothing_and_is_acknowledged(
    stepped: LocalDataspace,
) -> None:
    """The consumer's side of the crash above, seen directly: the same START twice."""
    provider, consumer = stepped["provider"], stepped["consumer"]
    await publish(provider, DATASET, open_offer("urn:offer:twice"))
    await consumer.client.call(
        "POST", "/negotiations", json={"provider": provider.did, "dataset_id": DATASET}
    )
    for side in (consumer, provider, consumer, provider):
        await side.connector.runner.run_once()
    [negotiation] = await consumer.client.call("GET", "/negotiations")
    mine = await consumer.client.call(
        "POST", "/transfers", json={"agreement_id": negotiation["agreement_id"]}
    )
    await consumer.connector.runner.run_once()
    [theirs] = await provider.client.call("GET", "/transfers")
    with provider.connector.store.transaction() as tx:
        row = tx.process(TransferRow, theirs["id"])
    url, body = provider.connector.transfers.outbound(row)  # START, as the runner builds it
    dispatcher = provider.connector.dispatcher
    assert await dispatcher.send(url, body, audience=consumer.did) is None
    with consumer.connector.store.transaction() as tx:
        events = len(tx.events(mine["id"]))
    assert await dispatcher.send(url, body, audience=consumer.did) is None  # 200 again
    with consumer.connector.store.transaction() as tx:
        assert len(tx.events(mine["id"])) == events  # nothing recorded twice
    # A message that did not bring the transfer here is still refused.
    completion = {**body, "@type": "TransferCompletionMessage"}
    completion.pop("dataAddress", None)
    await dispatcher.send(url.replace("/start", "/completion"), completion, audience=consumer.did)
    with pytest.raises(PeerRejected):
        await dispatcher.send(url, body, audience=consumer.did)  # START after COMPLETED


async def test_a_clean_shutdown_hands_back_its_leases(tmp_path: Path) -> None:
    """What a stopping process holds but has not sent is free for another process at once,
    not after the lease lapses."""
    clock = ManualClock()
    async with LocalDataspace(tmp_path, clock=clock, background=False) as space:
        await space.start_authority()
        consumer = await space.add("consumer", "C村")
        row = consumer.connector.negotiations.request(
            provider_did="did:web:localhost%3A1",
            provider_address=f"http://127.0.0.1:{free_port()}/dsp/2025-1",
            dataset_id=DATASET,
            offer=parse_policy(open_offer("urn:offer:lease")),
        )
        runner = consumer.connector.runner
        services = runner.services
        [(kind, service)] = [(k, s) for k, s in services.items() if k is NegotiationRow]
        held, _ = await consumer.connector.store.call(runner._claim, kind, service, False)
        assert [item.row.id for item in held] == [row.id]
        assert pending(space, "consumer", row.id).lease_owner == runner.owner
        again, _ = await consumer.connector.store.call(runner._claim, kind, service, False)
        assert again == []  # leased: nobody else sends it
        assert await runner.release() == 1
        free = pending(space, "consumer", row.id)
        assert (free.lease_owner, free.lease_until, free.pending) == (
            None,
            None,
            "CONTRACT_REQUEST",
        )
        retaken, _ = await consumer.connector.store.call(runner._claim, kind, service, False)
        assert [item.row.id for item in retaken] == [row.id]  # no clock advance needed
