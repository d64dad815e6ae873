"""Every contract and transfer step under the owner's rules, on both sides, between two real
connectors: a held step is not taken until the operator acts, the right DSP message follows
the action, and a peer's message that only the held step could have caused is refused (400)
and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from connector.control.hold_rules import AcceptRule, HoldSettings, Steps
from connector.demo.localspace import LocalDataspace
from tests.e2e.conftest import COUNCIL, members_offer, open_offer, publish
from tests.e2e.holds_support import (
    DISASTER_RESPONSE,
    configure,
    offer_to_consumer,
    only_waiting,
    paid_offer,
    peer_message,
    purpose_offer,
)

pytestmark = pytest.mark.anyio
DATASET = "urn:tsunagu:dataset:202151:water-level"


def messages(record: dict[str, Any]) -> list[tuple[str, str]]:
    """(direction, message) of a process's history, holds and operator actions included."""
    return [(e["direction"], e["message"]) for e in record["events"]]


async def publish_with_steps(space: LocalDataspace, offer: dict[str, Any], **steps: str) -> None:
    body = {
        "id": DATASET,
        "title": "water level",
        "data_address": {"type": "HttpData", "baseUrl": "http://owner.invalid/api"},
        "offers": [{"policy": offer, "steps": steps}],
    }
    await space["provider"].client.call("POST", "/datasets", json=body)


# -- consumer: acceptance ---------------------------------------------------------------------


async def test_a_pushed_offer_with_a_payment_duty_does_not_bind_the_consumer(
    space: LocalDataspace,
) -> None:
    # The consumer accepts offers from council members, for disaster response, with no payment.
    consumer = await configure(
        space,
        "consumer",
        HoldSettings(
            accept=(
                AcceptRule(member_of=(COUNCIL,), purposes=(DISASTER_RESPONSE,), no_payment=True),
            )
        ),
    )
    provider = space["provider"]
    await publish(provider, DATASET, paid_offer("urn:offer:paid"))
    started = await offer_to_consumer(space, DATASET, "urn:offer:paid")
    # The provider is OFFERED with nothing owed once the consumer has taken the offer in ...
    offered = await provider.client.wait_for("negotiations", started["id"], ["OFFERED"])
    assert offered["state"] == "OFFERED"
    # ... and the consumer has sent nothing back: it waits for its operator.
    held = await only_waiting(consumer)
    assert (held["state"], held["pending"], held["waiting"]["for"]) == ("OFFERED", None, "ACCEPTED")
    assert "payment duty" in held["waiting"]["detail"]["reason"]
    assert held["agreement_id"] is None
    await consumer.client.call(
        "POST", f"/negotiations/{held['id']}/terminate", json={"reason": "we do not pay for this"}
    )
    ended = await provider.client.wait_for("negotiations", started["id"], ["TERMINATED"])
    assert ended["state"] == "TERMINATED" and ended["agreement_id"] is None
    assert await consumer.client.call("GET", "/agreements") == []
    after = await consumer.client.call("GET", f"/negotiations/{held['id']}")
    assert after["waiting"] is None
    assert ("local", "HOLD") in messages(after) and ("local", "OPERATOR") in messages(after)


async def test_a_consumer_rule_accepts_a_pushed_offer_it_allows(space: LocalDataspace) -> None:
    await configure(
        space,
        "consumer",
        HoldSettings(
            accept=(
                AcceptRule(member_of=(COUNCIL,), purposes=(DISASTER_RESPONSE,), no_payment=True),
            )
        ),
    )
    provider = space["provider"]
    await publish(provider, DATASET, purpose_offer("urn:offer:dr"))
    started = await offer_to_consumer(space, DATASET, "urn:offer:dr")
    done = await provider.client.wait_for("negotiations", started["id"], ["FINALIZED"], timeout=20)
    assert done["state"] == "FINALIZED"
    [consumer_side] = await space["consumer"].client.call("GET", "/negotiations")
    assert consumer_side["state"] == "FINALIZED" and consumer_side["waiting"] is None


async def test_a_pushed_offer_waits_for_the_operator_who_accepts_it(
    space: LocalDataspace,
) -> None:
    provider, consumer = space["provider"], space["consumer"]
    await publish(provider, DATASET, open_offer("urn:offer:open"))
    started = await offer_to_consumer(space, DATASET, "urn:offer:open")
    await provider.client.wait_for("negotiations", started["id"], ["OFFERED"])
    held = await only_waiting(consumer)
    assert "no acceptance rule" in held["waiting"]["detail"]["reason"]
    # Under the hold, a FINALIZED from the provider is not what our held step could cause.
    status, _ = await peer_message(
        space,
        "provider",
        f"/negotiations/{held['id']}/events",
        {
            "@type": "ContractNegotiationEventMessage",
            "providerPid": started["id"],
            "consumerPid": held["id"],
            "eventType": "FINALIZED",
        },
    )
    assert status == 400
    still = await consumer.client.call("GET", f"/negotiations/{held['id']}")
    assert (still["state"], still["waiting"]["for"]) == ("OFFERED", "ACCEPTED")
    accepted = await consumer.client.call("POST", f"/negotiations/{held['id']}/approve")
    assert accepted["waiting"] is None and accepted["pending"] == "ACCEPTED"
    done = await consumer.client.wait_for("negotiations", held["id"], ["FINALIZED"], timeout=20)
    assert done["state"] == "FINALIZED"
    assert ("outbound", "ACCEPTED") in messages(done)


# -- counter-offers from each side --------------------------------------------------------------


async def test_counter_offer_round_trip_started_by_the_consumer(space: LocalDataspace) -> None:
    """Consumer asks; provider counters; consumer (no rule) counters back with its own
    terms; provider agrees to those: the agreement has the consumer's counter terms."""
    provider, consumer = space["provider"], space["consumer"]
    await publish(provider, DATASET, open_offer("urn:offer:c1"), approval=True)
    asked = await consumer.client.call(
        "POST", "/negotiations", json={"provider": provider.did, "dataset_id": DATASET}
    )
    requested = await consumer.client.wait_for("negotiations", asked["id"], ["REQUESTED"])
    ppid = requested["peer_pid"]
    at_provider = await only_waiting(provider)
    assert (at_provider["id"], at_provider["waiting"]["for"]) == (ppid, "AGREEMENT")
    await provider.client.call(
        "POST",
        f"/negotiations/{ppid}/counter-offer",
        json={"policy": members_offer("urn:offer:c1-provider")},
    )
    held = await consumer.client.wait_for(
        "negotiations", asked["id"], ["FINALIZED"], or_waiting=True
    )
    assert (held["state"], held["waiting"]["for"]) == ("OFFERED", "ACCEPTED")
    assert "differ from what we asked" in held["waiting"]["detail"]["reason"]
    # The provider sends its counter-offer again (its ACK lost): acknowledged again, no change.
    status, _ = await peer_message(
        space,
        "provider",
        f"/negotiations/{asked['id']}/offers",
        {
            "@type": "ContractOfferMessage",
            "providerPid": ppid,
            "consumerPid": asked["id"],
            "offer": {**members_offer("urn:offer:c1-provider"), "target": DATASET},
        },
    )
    assert status == 200
    again_held = await consumer.client.call("GET", f"/negotiations/{asked['id']}")
    assert again_held["events"] == held["events"] and again_held["waiting"] == held["waiting"]
    ours = purpose_offer("urn:offer:c1-consumer")
    countered = await consumer.client.call(
        "POST", f"/negotiations/{asked['id']}/counter-offer", json={"policy": ours}
    )
    assert countered["pending"] == "CONTRACT_REQUEST"
    again = await provider.client.wait_for("negotiations", ppid, ["AGREED"], or_waiting=True)
    assert (again["state"], again["waiting"]["for"]) == ("REQUESTED", "AGREEMENT")
    assert "other terms" in again["waiting"]["detail"]["reason"]
    await provider.client.call("POST", f"/negotiations/{ppid}/approve")
    done = await consumer.client.wait_for("negotiations", asked["id"], ["FINALIZED"], timeout=20)
    assert done["state"] == "FINALIZED"
    agreement = await consumer.client.call("GET", f"/agreements/{done['agreement_id']}")
    [permission] = agreement["policy"]["permission"]
    assert permission["constraint"][0]["leftOperand"] == "purpose"  # the consumer's terms
    assert ("outbound", "CONTRACT_REQUEST") in messages(done)


async def test_counter_offer_round_trip_started_by_the_provider(space: LocalDataspace) -> None:
    """Provider offers; consumer counters; provider counters back; consumer's operator
    accepts: the agreement has the provider's second terms."""
    provider, consumer = space["provider"], space["consumer"]
    await publish(provider, DATASET, open_offer("urn:offer:p1"))
    started = await offer_to_consumer(space, DATASET, "urn:offer:p1")
    await provider.client.wait_for("negotiations", started["id"], ["OFFERED"])
    held = await only_waiting(consumer)
    await consumer.client.call(
        "POST",
        f"/negotiations/{held['id']}/counter-offer",
        json={"policy": purpose_offer("urn:offer:p1-consumer")},
    )
    at_provider = await provider.client.wait_for(
        "negotiations", started["id"], ["AGREED"], or_waiting=True
    )
    assert (at_provider["state"], at_provider["waiting"]["for"]) == ("REQUESTED", "AGREEMENT")
    await provider.client.call(
        "POST",
        f"/negotiations/{started['id']}/counter-offer",
        json={"policy": members_offer("urn:offer:p1-provider")},
    )
    again = await consumer.client.wait_for(
        "negotiations", held["id"], ["FINALIZED"], or_waiting=True
    )
    assert (again["state"], again["waiting"]["for"]) == ("OFFERED", "ACCEPTED")
    await consumer.client.call("POST", f"/negotiations/{held['id']}/approve")
    done = await provider.client.wait_for("negotiations", started["id"], ["FINALIZED"], timeout=20)
    assert done["state"] == "FINALIZED"
    agreement = await provider.client.call("GET", f"/agreements/{done['agreement_id']}")
    operands = {c["leftOperand"] for c in agreement["policy"]["permission"][0]["constraint"]}
    assert operands == {"role", "memberships"}


# -- consumer: verification -----------------------------------------------------------------------


async def test_consumer_verification_held_until_the_operator_verifies(
    space: LocalDataspace,
) -> None:
    consumer = await configure(space, "consumer", HoldSettings(steps=Steps(verify="hold")))
    provider = space["provider"]
    await publish(provider, DATASET, open_offer("urn:offer:v"))
    asked = await consumer.client.call(
        "POST", "/negotiations", json={"provider": provider.did, "dataset_id": DATASET}
    )
    held = await consumer.client.wait_for(
        "negotiations", asked["id"], ["FINALIZED"], or_waiting=True
    )
    assert (held["state"], held["waiting"]["for"]) == ("AGREED", "VERIFICATION")
    ppid = held["peer_pid"]
    agreed = await provider.client.wait_for("negotiations", ppid, ["AGREED"])
    assert agreed["state"] == "AGREED"  # the provider's AGREEMENT was delivered; no more
    # FINALIZED while we are AGREED and have not sent our verification: refused, no change.
    status, error = await peer_message(
        space,
        "provider",
        f"/negotiations/{asked['id']}/events",
        {
            "@type": "ContractNegotiationEventMessage",
            "providerPid": ppid,
            "consumerPid": asked["id"],
            "eventType": "FINALIZED",
        },
    )
    assert status == 400, error
    still = await consumer.client.call("GET", f"/negotiations/{asked['id']}")
    assert (still["state"], still["pending"], still["waiting"]["for"]) == (
        "AGREED",
        None,
        "VERIFICATION",
    )
    assert still["events"] == held["events"]
    await consumer.client.call("POST", f"/negotiations/{asked['id']}/approve")
    done = await consumer.client.wait_for("negotiations", asked["id"], ["FINALIZED"], timeout=20)
    assert done["state"] == "FINALIZED"
    assert ("outbound", "VERIFICATION") in messages(done)


# -- provider: after ACCEPTED and after verification ---------------------------------------------


async def test_provider_agrees_and_finalizes_only_when_the_operator_says_so(
    space: LocalDataspace,
) -> None:
    provider, consumer = space["provider"], space["consumer"]
    await publish_with_steps(
        space, open_offer("urn:offer:steps"), after_accept="hold", finalize="hold"
    )
    started = await offer_to_consumer(space, DATASET, "urn:offer:steps")
    await provider.client.wait_for("negotiations", started["id"], ["OFFERED"])
    cpid = (await only_waiting(consumer))["id"]
    await consumer.client.call("POST", f"/negotiations/{cpid}/approve")  # ACCEPTED
    held = await provider.client.wait_for(
        "negotiations", started["id"], ["AGREED"], or_waiting=True
    )
    assert (held["state"], held["waiting"]["for"]) == ("ACCEPTED", "AGREEMENT")
    assert held["waiting"]["detail"]["after"] == "ACCEPTED"
    # A verification before our agreement is nothing our held step could have caused.
    status, _ = await peer_message(
        space,
        "consumer",
        f"/negotiations/{started['id']}/agreement/verification",
        {
            "@type": "ContractAgreementVerificationMessage",
            "providerPid": started["id"],
            "consumerPid": cpid,
        },
    )
    assert status == 400
    unchanged = await provider.client.call("GET", f"/negotiations/{started['id']}")
    assert (unchanged["state"], unchanged["waiting"]["for"]) == ("ACCEPTED", "AGREEMENT")
    await provider.client.call("POST", f"/negotiations/{started['id']}/approve")
    verified = await provider.client.wait_for(
        "negotiations", started["id"], ["FINALIZED"], or_waiting=True
    )
    assert (verified["state"], verified["waiting"]["for"]) == ("VERIFIED", "FINALIZED")
    # Not final yet: the consumer cannot start a transfer under it.
    consumer_side = await consumer.client.wait_for("negotiations", cpid, ["VERIFIED"])
    assert consumer_side["state"] == "VERIFIED"
    await provider.client.call("POST", f"/negotiations/{started['id']}/approve")
    done = await consumer.client.wait_for("negotiations", cpid, ["FINALIZED"], timeout=20)
    assert done["state"] == "FINALIZED"
    # The provider records its FINALIZED as sent a moment after the consumer has it.
    history = await provider.client.wait_for("negotiations", started["id"], ["FINALIZED"])
    assert messages(history)[-2:] == [("local", "OPERATOR"), ("outbound", "FINALIZED")]


async def test_the_participant_default_holds_every_request(space: LocalDataspace) -> None:
    provider = await configure(space, "provider", HoldSettings(steps=Steps(agree="hold")))
    consumer = space["consumer"]
    await publish(provider, DATASET, open_offer("urn:offer:d"))
    asked = await consumer.client.call(
        "POST", "/negotiations", json={"provider": provider.did, "dataset_id": DATASET}
    )
    requested = await consumer.client.wait_for("negotiations", asked["id"], ["REQUESTED"])
    held = await only_waiting(provider)
    assert (held["id"], held["waiting"]["for"]) == (requested["peer_pid"], "AGREEMENT")
    await provider.client.call("POST", f"/negotiations/{held['id']}/approve")
    done = await consumer.client.wait_for("negotiations", asked["id"], ["FINALIZED"], timeout=20)
    assert done["state"] == "FINALIZED"
