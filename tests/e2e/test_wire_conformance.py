"""What real connectors put on the wire validates against the official DSP schemas.

Every message our connectors send during whole lifecycles — negotiation with a counter-offer,
provider-initiated offers, transfers suspended, resumed, completed and terminated — and every
ACK, catalogue and dataset they answer with is recorded and checked against ../shared/dsp.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from connector.demo.localspace import LocalDataspace
from tests.conftest import Validate
from tests.e2e.conftest import members_offer, open_offer, publish

pytestmark = pytest.mark.anyio


def record(space: LocalDataspace) -> list[dict[str, Any]]:
    """Wrap both connectors' dispatchers: keep each body sent and each body answered."""
    seen: list[dict[str, Any]] = []
    for participant in space.participants.values():
        dispatcher = participant.connector.dispatcher
        send, get_json = dispatcher.send, dispatcher.get_json

        async def recording_send(
            url: str, body: dict[str, Any], *, audience: str, _send: Any = send
        ) -> Any:
            if "/tsunagu/" in url:  # audit receipts and witnessing: ours, not DSP messages
                return await _send(url, body, audience=audience)
            seen.append(body)
            answer = await _send(url, body, audience=audience)
            if answer is not None:
                seen.append(answer)
            return answer

        async def recording_get(
            url: str, *, audience: str, body: Any = None, _get: Any = get_json
        ) -> Any:
            if body is not None:
                seen.append(body)
            answer = await _get(url, audience=audience, body=body)
            seen.append(answer)
            return answer

        dispatcher.send = recording_send  # type: ignore[method-assign]
        dispatcher.get_json = recording_get  # type: ignore[method-assign]
    return seen


def schema_for(message_type: str, dsp_dir: Path) -> str:
    name = re.sub(r"(?<!^)(?=[A-Z])", "-", message_type).lower() + "-schema.json"
    [path] = dsp_dir.glob(f"*/{name}")
    return path.relative_to(dsp_dir).as_posix()


async def test_everything_on_the_wire_is_schema_valid(
    space: LocalDataspace, validate: Validate, dsp_dir: Path
) -> None:
    provider, consumer = space["provider"], space["consumer"]
    seen = record(space)
    await publish(provider, "urn:ds:1", members_offer("urn:offer:1"))
    await publish(provider, "urn:ds:2", open_offer("urn:offer:2"), approval=True)

    await consumer.client.call("GET", "/catalog", params={"provider": provider.did})
    started = await consumer.client.call(
        "POST", "/negotiations", json={"provider": provider.did, "dataset_id": "urn:ds:1"}
    )
    done = await consumer.client.wait_for("negotiations", started["id"], ["FINALIZED"], timeout=20)
    transfer = await consumer.client.call(
        "POST", "/transfers", json={"agreement_id": done["agreement_id"]}
    )
    await consumer.client.wait_for("transfers", transfer["id"], ["STARTED"])
    for action, state in (
        ("suspend", "SUSPENDED"),
        ("resume", "STARTED"),
        ("complete", "COMPLETED"),
    ):
        await consumer.client.call(
            "POST", f"/transfers/{transfer['id']}/{action}", json={"reason": action}
        )
        await consumer.client.wait_for("transfers", transfer["id"], [state])
    second = await consumer.client.call(
        "POST", "/transfers", json={"agreement_id": done["agreement_id"]}
    )
    await consumer.client.wait_for("transfers", second["id"], ["STARTED"])
    await consumer.client.call(
        "POST",
        f"/transfers/{second['id']}/terminate",
        json={"code": "done", "reason": "no longer needed"},
    )
    await consumer.client.wait_for("transfers", second["id"], ["TERMINATED"])

    async def parked_at_provider() -> dict[str, Any]:
        asked = await consumer.client.call(
            "POST",
            "/negotiations",
            json={
                "provider": provider.did,
                "dataset_id": "urn:ds:2",
                "accept": [{"peers": [provider.did]}],  # the counter-offer is taken
            },
        )
        acked = await consumer.client.wait_for("negotiations", asked["id"], ["REQUESTED"])
        return {"consumer": asked["id"], "provider": acked["peer_pid"]}

    countered = await parked_at_provider()
    await provider.client.call(
        "POST",
        f"/negotiations/{countered['provider']}/counter-offer",
        json={"policy": members_offer("urn:offer:2b")},
    )
    assert (
        await consumer.client.wait_for(
            "negotiations", countered["consumer"], ["FINALIZED"], timeout=20
        )
    )["state"] == "FINALIZED"
    refused = await parked_at_provider()
    await provider.client.call(
        "POST", f"/negotiations/{refused['provider']}/terminate", json={"reason": "not this year"}
    )
    assert (await consumer.client.wait_for("negotiations", refused["consumer"], ["TERMINATED"]))[
        "state"
    ] == "TERMINATED"

    offered = await provider.client.call(
        "POST",
        "/negotiations/offers",
        json={
            "consumer": consumer.did,
            "consumer_address": consumer.settings.dsp_base,
            "dataset_id": "urn:ds:1",
            "offer_id": "urn:offer:1",
        },
    )
    await provider.client.wait_for("negotiations", offered["id"], ["OFFERED"])
    [held] = await consumer.client.call("GET", "/negotiations", params={"waiting": "true"})
    await consumer.client.call("POST", f"/negotiations/{held['id']}/approve")  # the operator
    await provider.client.wait_for("negotiations", offered["id"], ["FINALIZED"], timeout=20)

    types = set()
    for body in seen:
        types.add(body["@type"])
        validate(body, schema_for(body["@type"], dsp_dir))
    expected = {
        "CatalogRequestMessage",
        "Catalog",
        "Dataset",
        "ContractRequestMessage",
        "ContractOfferMessage",
        "ContractNegotiation",
        "ContractAgreementMessage",
        "ContractAgreementVerificationMessage",
        "ContractNegotiationEventMessage",
        "TransferRequestMessage",
        "TransferProcess",
        "TransferStartMessage",
        "TransferSuspensionMessage",
        "TransferCompletionMessage",
        "TransferTerminationMessage",
    }
    assert expected <= types, expected - types
