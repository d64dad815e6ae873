"""Contract negotiation between two real connectors over loopback HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from connector.demo.localspace import LocalDataspace
from tests.e2e.conftest import members_offer, open_offer, publish
from tests.e2e.peer import CONTEXT, post, token

pytestmark = pytest.mark.anyio
DATASET = "urn:tsunagu:dataset:202151:water-level"


async def negotiate(space: LocalDataspace, dataset_id: str = DATASET, **extra: object) -> dict:
    consumer = space["consumer"].client
    started = await consumer.call(
        "POST",
        "/negotiations",
        json={"provider": space["provider"].did, "dataset_id": dataset_id, **extra},
    )
    return await consumer.wait_for("negotiations", started["id"], ["FINALIZED"], timeout=20)


async def test_catalogue_is_read_over_dsp_with_offers_and_no_private_address(
    space: LocalDataspace,
) -> None:
    await publish(space["provider"], DATASET, members_offer("urn:offer:1"))
    catalog = await space["consumer"].client.call(
        "GET", "/catalog", params={"provider": space["provider"].did}
    )
    assert catalog["participantId"] == space["provider"].did
    [dataset] = catalog["dataset"]
    assert dataset["@id"] == DATASET
    assert [o["@id"] for o in dataset["hasPolicy"]] == ["urn:offer:1"]
    assert "owner.invalid" not in str(catalog)  # the owner's backend stays private


async def test_negotiation_reaches_finalized_on_both_sides(space: LocalDataspace) -> None:
    await publish(space["provider"], DATASET, members_offer("urn:offer:1"))
    done = await negotiate(space)
    assert done["state"] == "FINALIZED"
    agreement_id = done["agreement_id"]
    # The provider records FINALIZED once the consumer's ACK is back: wait for that too.
    [row] = await space["provider"].client.call("GET", "/negotiations")
    provider_view = await space["provider"].client.wait_for(
        "negotiations", row["id"], ["FINALIZED"]
    )
    assert (provider_view["state"], provider_view["agreement_id"]) == ("FINALIZED", agreement_id)
    for side in ("provider", "consumer"):
        agreement = await space[side].client.call("GET", f"/agreements/{agreement_id}")
        assert agreement["provider_did"] == space["provider"].did
        assert agreement["consumer_did"] == space["consumer"].did
        assert agreement["policy"]["@type"] == "Agreement"
        assert agreement["policy"]["target"] == DATASET
    history = await space["consumer"].client.call("GET", f"/negotiations/{done['id']}")
    assert [e["to"] for e in history["events"]] == ["REQUESTED", "AGREED", "VERIFIED", "FINALIZED"]


async def test_an_offer_taken_from_the_catalogue_is_not_read_again(
    space: LocalDataspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    await publish(space["provider"], DATASET, members_offer("urn:offer:1"))
    catalog = await space["consumer"].client.call(
        "GET", "/catalog", params={"provider": space["provider"].did}
    )
    [offer] = catalog["dataset"][0]["hasPolicy"]
    catalog_service = space["provider"].connector.catalog
    reads: list[str] = []
    original = catalog_service.dataset

    def counted(dataset_id: str, *args: Any, **kwargs: Any) -> Any:
        reads.append(dataset_id)
        return original(dataset_id, *args, **kwargs)

    monkeypatch.setattr(catalog_service, "dataset", counted)
    done = await negotiate(space, offer=offer)
    assert done["state"] == "FINALIZED" and reads == []
    done = await negotiate(space)  # without the offer, the consumer reads the dataset first
    assert done["state"] == "FINALIZED" and reads == [DATASET]


async def test_an_offer_passed_in_must_be_the_providers_own(space: LocalDataspace) -> None:
    from connector.api.client import ManagementError

    await publish(space["provider"], DATASET, members_offer("urn:offer:1"))
    forged = members_offer("urn:offer:made-up")
    done = await negotiate(space, offer=forged)
    assert done["state"] == "TERMINATED"  # the provider refuses an offer it never made
    without_id = {k: v for k, v in members_offer("x").items() if k != "@id"}
    with pytest.raises(ManagementError) as caught:
        await negotiate(space, offer=without_id)
    assert caught.value.code in ("invalid_offer", "invalid_policy")


async def test_policy_the_consumer_does_not_meet_ends_terminated(space: LocalDataspace) -> None:
    offer = members_offer("urn:offer:2")
    offer["permission"][0]["constraint"][1]["rightOperand"] = "urn:tsunagu:council:another-basin"
    await publish(space["provider"], DATASET, offer)
    # The catalogue does not even show the consumer this offer (its verified membership can
    # never satisfy it); a consumer that asks for it anyway, by its terms, is refused.
    done = await negotiate(space, offer={**offer, "target": DATASET})
    assert done["state"] == "TERMINATED"
    [row] = await space["provider"].client.call("GET", "/negotiations")
    provider_side = await space["provider"].client.wait_for("negotiations", row["id"], [])
    assert provider_side["state"] == "TERMINATED"
    assert provider_side["agreement_id"] is None


async def test_manual_approval_parks_until_the_operator_agrees(stepped: LocalDataspace) -> None:
    provider, consumer = stepped["provider"], stepped["consumer"]
    await publish(provider, DATASET, open_offer("urn:offer:3"), approval=True)
    started = await consumer.client.call(
        "POST", "/negotiations", json={"provider": provider.did, "dataset_id": DATASET}
    )
    assert await consumer.connector.runner.run_once() == 1  # the request goes out
    [parked] = await provider.client.call("GET", "/negotiations")
    assert (
        parked["awaiting_decision"] and parked["state"] == "REQUESTED" and parked["pending"] is None
    )
    assert await provider.connector.runner.run_once() == 0  # nothing moves without a human
    await provider.client.call("POST", f"/negotiations/{parked['id']}/approve")
    for _ in range(4):  # agreement, verification, finalized
        await provider.connector.runner.run_once()
        await consumer.connector.runner.run_once()
    done = await consumer.client.call("GET", f"/negotiations/{started['id']}")
    assert done["state"] == "FINALIZED"


async def test_counter_offer_is_accepted_under_the_consumers_rule(space: LocalDataspace) -> None:
    provider, consumer = space["provider"], space["consumer"]
    await publish(provider, DATASET, open_offer("urn:offer:4"), approval=True)
    started = await consumer.client.call(
        "POST",
        "/negotiations",
        json={
            "provider": provider.did,
            "dataset_id": DATASET,
            "accept": [{"peers": [provider.did], "no_payment": True}],
        },
    )
    parked = await provider.client.wait_for(
        "negotiations", await _provider_pid(space, started["id"]), ["REQUESTED"]
    )
    assert parked["awaiting_decision"]
    counter = members_offer("urn:offer:4-counter")
    await provider.client.call(
        "POST", f"/negotiations/{parked['id']}/counter-offer", json={"policy": counter}
    )
    done = await consumer.client.wait_for("negotiations", started["id"], ["FINALIZED"], timeout=20)
    assert done["state"] == "FINALIZED"
    agreement = await consumer.client.call("GET", f"/agreements/{done['agreement_id']}")
    assert agreement["policy"]["permission"][0]["constraint"]  # the counter-offer's terms


async def test_operator_terminates_a_parked_negotiation(space: LocalDataspace) -> None:
    provider, consumer = space["provider"], space["consumer"]
    await publish(provider, DATASET, open_offer("urn:offer:5"), approval=True)
    started = await consumer.client.call(
        "POST", "/negotiations", json={"provider": provider.did, "dataset_id": DATASET}
    )
    pid = await _provider_pid(space, started["id"])
    await provider.client.call(
        "POST", f"/negotiations/{pid}/terminate", json={"reason": "not this year"}
    )
    done = await consumer.client.wait_for("negotiations", started["id"], ["FINALIZED"])
    assert done["state"] == "TERMINATED"
    assert done["events"][-1]["detail"]["reason"] == ["not this year"]


async def test_provider_initiated_offer(space: LocalDataspace) -> None:
    provider, consumer = space["provider"], space["consumer"]
    await publish(provider, DATASET, open_offer("urn:offer:6"))
    started = await provider.client.call(
        "POST",
        "/negotiations/offers",
        json={
            "consumer": consumer.did,
            "consumer_address": consumer.settings.dsp_base,
            "dataset_id": DATASET,
            "offer_id": "urn:offer:6",
        },
    )
    # The consumer has no rule that accepts it: it waits in OFFERED for the operator.
    offered = await provider.client.wait_for("negotiations", started["id"], ["OFFERED"])
    assert offered["state"] == "OFFERED"
    [held] = await consumer.client.call("GET", "/negotiations", params={"waiting": "true"})
    assert (held["state"], held["waiting"]["for"]) == ("OFFERED", "ACCEPTED")
    await consumer.client.call("POST", f"/negotiations/{held['id']}/approve")
    done = await provider.client.wait_for("negotiations", started["id"], ["FINALIZED"], timeout=20)
    assert done["state"] == "FINALIZED"
    [consumer_side] = await consumer.client.call("GET", "/negotiations")
    assert consumer_side["state"] == "FINALIZED" and consumer_side["role"] == "consumer"


async def test_restart_resumes_a_negotiation_in_flight(stepped: LocalDataspace) -> None:
    provider, consumer = stepped["provider"], stepped["consumer"]
    await publish(provider, DATASET, open_offer("urn:offer:7"))
    started = await consumer.client.call(
        "POST", "/negotiations", json={"provider": provider.did, "dataset_id": DATASET}
    )
    await consumer.connector.runner.run_once()  # REQUESTED; the provider owes an agreement
    [owed] = await provider.client.call("GET", "/negotiations")
    assert owed["pending"] == "AGREEMENT"
    settings = await stepped.stop("provider")  # the provider process goes away ...
    restarted = await stepped.serve("provider", settings)  # ... and a new one comes up
    for _ in range(4):
        await restarted.connector.runner.run_once()
        await consumer.connector.runner.run_once()
    done = await consumer.client.call("GET", f"/negotiations/{started['id']}")
    assert done["state"] == "FINALIZED"
    events = [
        e["message"]
        for e in (await restarted.client.call("GET", f"/negotiations/{owed['id']}"))["events"]
    ]
    assert events.count("AGREEMENT") == 1  # sent once, not repeated


async def _provider_pid(space: LocalDataspace, consumer_pid: str) -> str:
    """The provider's id of the negotiation: the consumer is REQUESTED with nothing owed
    once the provider has stored the request and acknowledged it."""
    await space["consumer"].client.wait_for("negotiations", consumer_pid, ["REQUESTED"])
    [row] = await space["provider"].client.call("GET", "/negotiations")
    return str(row["id"])


async def test_acceptance_that_overtakes_our_counter_offer_acknowledgement(
    stepped: LocalDataspace,
) -> None:
    """The consumer accepts the counter-offer before the provider has recorded that it was
    delivered: the acceptance implies delivery, and the counter-offer's terms are agreed."""
    provider, consumer = stepped["provider"], stepped["consumer"]
    await publish(provider, DATASET, open_offer("urn:offer:5"), approval=True)
    started = await consumer.client.call(
        "POST", "/negotiations", json={"provider": provider.did, "dataset_id": DATASET}
    )
    await consumer.connector.runner.run_once()  # the request; parked at the provider
    [parked] = await provider.client.call("GET", "/negotiations")
    counter = members_offer("urn:offer:5-counter")
    await provider.client.call(
        "POST", f"/negotiations/{parked['id']}/counter-offer", json={"policy": counter}
    )
    [owed] = await provider.client.call("GET", "/negotiations")
    assert (owed["state"], owed["pending"]) == ("REQUESTED", "CONTRACT_OFFER")
    accepted = {
        "@context": CONTEXT,
        "@type": "ContractNegotiationEventMessage",
        "providerPid": parked["id"],
        "consumerPid": started["id"],
        "eventType": "ACCEPTED",
    }
    response = await post(stepped, f"/negotiations/{parked['id']}/events", accepted, token(stepped))
    assert response.status_code == 200, response.text
    now = await provider.client.call("GET", f"/negotiations/{parked['id']}")
    assert now["state"] == "ACCEPTED" and now["pending"] == "AGREEMENT"
    assert [e["to"] for e in now["events"]][-2:] == ["OFFERED", "ACCEPTED"]
    assert now["events"][-2]["detail"] == {"implied": True}
