"""A sender whose retried message is refused asks the peer where the process stands.

The provider delivers START and dies before recording the delivery (as in
test_resilience.py); when it sends START again, a peer that does not recognise duplicates (DSP
lets it answer 400, as other implementations do) or whose record moved elsewhere refuses it.
The provider then reads the peer's state with the DSP GET and adopts it when it is the state its
START produced, or terminates saying what the peer reported.
"""

from __future__ import annotations

from typing import Any

import pytest

from connector.control.process import Machine
from connector.demo.localspace import LocalDataspace, Participant
from connector.errors import PeerError
from connector.store.tables import TransferRow
from tests.e2e.conftest import open_offer, publish

pytestmark = pytest.mark.anyio
DATASET = "urn:tsunagu:dataset:reconcile"


class Crash(Exception):
    """The provider process dies between delivering START and recording it."""


def _crash(*_args: object) -> None:
    raise Crash


async def _start_delivered_not_recorded(
    space: LocalDataspace, monkeypatch: pytest.MonkeyPatch, offer: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    provider, consumer = space["provider"], space["consumer"]
    await publish(provider, DATASET, open_offer(offer))
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
    with monkeypatch.context() as patch:
        patch.setattr(provider.connector.transfers, "on_sent", _crash)
        with pytest.raises(Crash):
            await provider.connector.runner.run_once()
    [theirs] = await provider.client.call("GET", "/transfers")
    assert (theirs["state"], theirs["pending"]) == ("REQUESTED", "START")
    _lapse(provider, theirs["id"])
    return mine, theirs


def _lapse(provider: Participant, pid: str) -> None:
    """The dead process's lease runs out."""
    with provider.connector.store.transaction() as tx:
        row = tx.process(TransferRow, pid)
        row.lease_owner = row.lease_until = None
        tx.add(row)


async def _state(who: Participant, pid: str) -> dict[str, Any]:
    result: dict[str, Any] = await who.client.call("GET", f"/transfers/{pid}")
    return result


async def test_a_refused_resend_the_peer_already_has_is_adopted(
    stepped: LocalDataspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider, consumer = stepped["provider"], stepped["consumer"]
    mine, theirs = await _start_delivered_not_recorded(stepped, monkeypatch, "urn:offer:adopt")
    assert (await _state(consumer, mine["id"]))["state"] == "STARTED"
    # The consumer now answers a duplicate as a strict DSP peer may: 400.
    monkeypatch.setattr(Machine, "_repeats_last", staticmethod(lambda *_: False))
    assert await provider.connector.runner.run_once() == 1
    settled = await _state(provider, theirs["id"])
    assert (settled["state"], settled["pending"], settled["last_error"]) == ("STARTED", None, None)
    with provider.connector.store.transaction() as tx:
        sent = [e.message for e in tx.events(theirs["id"]) if e.direction == "outbound"]
    assert sent == ["START"]  # recorded once, as delivered
    await consumer.client.call("POST", f"/transfers/{mine['id']}/complete", json={})
    await consumer.connector.runner.run_once()
    for who, pid in ((consumer, mine["id"]), (provider, theirs["id"])):
        assert (await _state(who, pid))["state"] == "COMPLETED"


async def test_a_refused_resend_the_peer_moved_past_terminates_with_its_state(
    stepped: LocalDataspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider, consumer = stepped["provider"], stepped["consumer"]
    mine, theirs = await _start_delivered_not_recorded(stepped, monkeypatch, "urn:offer:apart")
    # The consumer's record went elsewhere meanwhile (say, restored from an older backup and
    # terminated by its operator while the provider was down): START is not what made it so.
    with consumer.connector.store.transaction() as tx:
        row = tx.process(TransferRow, mine["id"])
        row.state = "TERMINATED"
        tx.add(row)
    assert await provider.connector.runner.run_once() == 1  # START refused, peer asked
    refused = await _state(provider, theirs["id"])
    assert refused["pending"] == "TERMINATION"
    assert (
        "the peer reports TERMINATED; our message would have made it STARTED"
        in (refused["last_error"])
    )
    # Our TERMINATION is refused as well (the peer is terminated already), and the peer's
    # state is the one it produces: both sides end TERMINATED.
    assert await provider.connector.runner.run_once() == 1
    for who, pid in ((consumer, mine["id"]), (provider, theirs["id"])):
        assert (await _state(who, pid))["state"] == "TERMINATED"


async def test_a_peer_that_cannot_be_asked_keeps_the_message_owed(
    stepped: LocalDataspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider, consumer = stepped["provider"], stepped["consumer"]
    _mine, theirs = await _start_delivered_not_recorded(stepped, monkeypatch, "urn:offer:ask")
    monkeypatch.setattr(Machine, "_repeats_last", staticmethod(lambda *_: False))

    async def unreachable(*_args: object, **_kwargs: object) -> None:
        raise PeerError("the peer went away between the two requests")

    monkeypatch.setattr(provider.connector.dispatcher, "get_json", unreachable)
    assert await provider.connector.runner.run_once() == 1
    waiting = await _state(provider, theirs["id"])
    assert (waiting["state"], waiting["pending"]) == ("REQUESTED", "START")
    assert "went away" in waiting["last_error"]  # retried later, not terminated
    assert (await _state(consumer, _mine["id"]))["state"] == "STARTED"
