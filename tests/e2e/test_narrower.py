"""The offer's switch for narrower requests (`steps.narrower`, docs/holds.md): a consumer asks
for narrower terms than the offer (a narrower purpose). `auto` (the default) agrees to them,
`hold` parks the request for the provider's operator with the reason, `refuse` ends the
negotiation with `narrower_not_accepted` and the reason; the offer's own terms are agreed
whatever the switch says."""

from __future__ import annotations

from typing import Any

import pytest

from connector.api.client import ManagementError
from connector.demo.localspace import LocalDataspace
from tests.e2e.holds_support import only_waiting, purpose_offer

pytestmark = pytest.mark.anyio

DATASET = "urn:tsunagu:dataset:202151:narrower"
EVACUATION = "https://w3id.org/tsunagu/vocab/purpose/evacuation-decision-support"


async def publish(space: LocalDataspace, narrower: str | None) -> dict[str, Any]:
    offer: dict[str, Any] = {"policy": purpose_offer(f"{DATASET}:offer")}
    if narrower is not None:
        offer["steps"] = {"narrower": narrower}
    body = {
        "id": DATASET,
        "title": "水位",
        "data_address": {"type": "HttpData", "baseUrl": "http://owner.invalid/api"},
        "offers": [offer],
    }
    result: dict[str, Any] = await space["provider"].client.call("POST", "/datasets", json=body)
    return result


async def ask(space: LocalDataspace, terms: dict[str, Any] | None) -> dict[str, Any]:
    consumer = space["consumer"].client
    body: dict[str, Any] = {"provider": space["provider"].did, "dataset_id": DATASET}
    if terms is not None:
        body["offer"] = terms
    started = await consumer.call("POST", "/negotiations", json=body)
    done: dict[str, Any] = await consumer.wait_for(
        "negotiations", started["id"], ["FINALIZED", "TERMINATED"], timeout=20
    )
    return done


NARROWER = purpose_offer(f"{DATASET}:offer", EVACUATION)


@pytest.mark.parametrize("narrower", [None, "auto"])
async def test_narrower_terms_are_agreed_by_default(
    space: LocalDataspace, narrower: str | None
) -> None:
    await publish(space, narrower)
    done = await ask(space, NARROWER)
    assert done["state"] == "FINALIZED", done
    agreement = await space["consumer"].client.call("GET", f"/agreements/{done['agreement_id']}")
    assert EVACUATION in str(agreement)


async def test_refuse_ends_a_narrower_request_with_the_reason(space: LocalDataspace) -> None:
    await publish(space, "refuse")
    done = await ask(space, NARROWER)
    assert done["state"] == "TERMINATED", done
    text = str(done)
    assert "narrower_not_accepted" in text and "narrower than offer" in text
    assert await space["consumer"].client.call("GET", "/agreements") == []
    same = await ask(space, None)  # the offer as it is: agreed
    assert same["state"] == "FINALIZED", same


async def test_hold_parks_a_narrower_request_for_the_operator(space: LocalDataspace) -> None:
    await publish(space, "hold")
    consumer = space["consumer"].client
    body = {"provider": space["provider"].did, "dataset_id": DATASET, "offer": NARROWER}
    started = await consumer.call("POST", "/negotiations", json=body)
    await consumer.wait_for("negotiations", started["id"], ["REQUESTED"], timeout=20)
    provider = space["provider"]
    held = await only_waiting(provider)
    assert held["waiting"]["for"] == "AGREEMENT"
    assert "narrower than offer" in held["waiting"]["detail"]["reason"]
    await provider.client.call("POST", f"/negotiations/{held['id']}/approve")
    done = await consumer.wait_for("negotiations", started["id"], ["FINALIZED"], timeout=20)
    assert done["state"] == "FINALIZED", done


async def test_an_unknown_switch_is_refused(space: LocalDataspace) -> None:
    with pytest.raises(ManagementError) as refused:
        await publish(space, "sometimes")
    assert refused.value.code == "invalid_steps" and "narrower" in str(refused.value)
