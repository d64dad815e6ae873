"""Transfer processes between two real connectors over loopback HTTP."""

from __future__ import annotations

import uuid
from typing import Any

import jwt
import pytest

from connector.demo.localspace import LocalDataspace
from tests.e2e.conftest import open_offer, publish
from tests.e2e.peer import CONTEXT, post, token

pytestmark = pytest.mark.anyio
DATASET = "urn:tsunagu:dataset:202151:rainfall"


async def agreed(space: LocalDataspace) -> str:
    await publish(space["provider"], DATASET, open_offer("urn:offer:rain"))
    consumer = space["consumer"].client
    started = await consumer.call(
        "POST", "/negotiations", json={"provider": space["provider"].did, "dataset_id": DATASET}
    )
    done = await consumer.wait_for("negotiations", started["id"], ["FINALIZED"], timeout=20)
    assert done["state"] == "FINALIZED"
    return str(done["agreement_id"])


async def start(space: LocalDataspace, agreement_id: str, **extra: Any) -> dict[str, Any]:
    consumer = space["consumer"].client
    started = await consumer.call(
        "POST", "/transfers", json={"agreement_id": agreement_id, **extra}
    )
    return await consumer.wait_for("transfers", started["id"], ["STARTED"], timeout=20)


async def provider_transfer(space: LocalDataspace) -> dict[str, Any]:
    """The provider's record of the one transfer, once it has settled in STARTED: the consumer
    is STARTED as soon as the start message arrives, a moment before the provider books the
    message as delivered."""
    [row] = await space["provider"].client.call("GET", "/transfers")
    return await space["provider"].client.wait_for("transfers", row["id"], ["STARTED"])


async def test_pull_transfer_starts_with_a_signed_transfer_bound_token(
    space: LocalDataspace,
) -> None:
    record = await start(space, await agreed(space))
    assert record["state"] == "STARTED" and record["format"] == "HttpData-PULL"
    address = record["data_address"]
    # The provider records STARTED once the consumer's ACK of its start message is back: the
    # consumer can see STARTED a moment earlier, so wait for the provider too.
    row = await provider_transfer(space)
    provider = await space["provider"].client.wait_for("transfers", row["id"], ["STARTED"])
    assert provider["state"] == "STARTED"
    assert address["endpoint"].endswith(f"/data/{provider['id']}")
    props = {p["name"]: p["value"] for p in address["endpointProperties"]}
    assert props["authType"] == "bearer"
    key = space["provider"].connector.keys.active
    claims = jwt.decode(
        props["authorization"],
        key.public_key(),
        algorithms=["EdDSA"],
        audience=space["provider"].did,
    )
    assert claims["sub"] == space["consumer"].did
    assert claims["transfer_id"] == provider["id"]
    assert claims["agreement_id"] == record["agreement_id"]
    assert claims["exp"] - claims["iat"] <= 300


async def test_suspend_resume_complete_from_either_side(space: LocalDataspace) -> None:
    record = await start(space, await agreed(space))
    consumer, provider = space["consumer"].client, space["provider"].client
    provider_id = (await provider_transfer(space))["id"]

    async def both(state: str) -> None:
        """Both sides settled: the sender books its message delivered just after the receiver
        has it, and may act again only then."""
        assert (await consumer.wait_for("transfers", record["id"], [state]))["state"] == state
        assert (await provider.wait_for("transfers", provider_id, [state]))["state"] == state

    await consumer.call(
        "POST", f"/transfers/{record['id']}/suspend", json={"reason": "maintenance"}
    )
    await both("SUSPENDED")
    await consumer.call("POST", f"/transfers/{record['id']}/resume", json={})
    await both("STARTED")
    await provider.call("POST", f"/transfers/{provider_id}/complete", json={})
    done = await consumer.wait_for("transfers", record["id"], ["COMPLETED"])
    assert done["state"] == "COMPLETED"
    assert (await provider.wait_for("transfers", provider_id, ["COMPLETED"]))[
        "state"
    ] == "COMPLETED"


async def test_provider_terminates_a_transfer(space: LocalDataspace) -> None:
    record = await start(space, await agreed(space))
    provider_id = (await provider_transfer(space))["id"]
    await space["provider"].client.call(
        "POST",
        f"/transfers/{provider_id}/terminate",
        json={"code": "owner_request", "reason": "sensor recalled"},
    )
    done = await space["consumer"].client.wait_for("transfers", record["id"], ["TERMINATED"])
    assert done["state"] == "TERMINATED"
    assert done["events"][-1]["detail"] == {"code": "owner_request", "reason": ["sensor recalled"]}


async def test_operator_cannot_complete_a_suspended_transfer(space: LocalDataspace) -> None:
    record = await start(space, await agreed(space))
    consumer = space["consumer"].client
    await consumer.call("POST", f"/transfers/{record['id']}/suspend", json={})
    await consumer.wait_for("transfers", record["id"], ["SUSPENDED"])
    from connector.api.client import ManagementError

    with pytest.raises(ManagementError) as caught:
        await consumer.call("POST", f"/transfers/{record['id']}/complete", json={})
    assert caught.value.code == "invalid_transition"


async def test_push_transfer_needs_the_consumers_sink(space: LocalDataspace) -> None:
    agreement_id = await agreed(space)
    sink = {
        "@type": "DataAddress",
        "endpointType": "https://w3id.org/idsa/v4.1/HTTP",
        "endpoint": f"{space['consumer'].settings.public_url}/sink/1",
        "endpointProperties": [
            {"@type": "EndpointProperty", "name": "authorization", "value": "t"}
        ],
    }
    record = await start(space, agreement_id, format="HttpData-PUSH", data_address=sink)
    assert record["state"] == "STARTED"
    provider_row = await provider_transfer(space)
    assert provider_row["data_address"]["endpoint"] == sink["endpoint"]


async def test_a_transfer_may_start_while_our_finalized_is_still_on_its_way(
    stepped: LocalDataspace,
) -> None:
    """The consumer has FINALIZED and asks for a transfer before the provider has recorded the
    ACK of its FINALIZED: the request proves the consumer has it (implied acknowledgement)."""
    provider, consumer = stepped["provider"], stepped["consumer"]
    await publish(provider, DATASET, open_offer("urn:offer:rain"))
    await consumer.client.call(
        "POST", "/negotiations", json={"provider": provider.did, "dataset_id": DATASET}
    )

    def transfer_request() -> dict[str, Any]:
        return {
            "@context": CONTEXT,
            "@type": "TransferRequestMessage",
            "consumerPid": f"urn:uuid:{uuid.uuid4()}",
            "agreementId": agreement_id,
            "format": "HttpData-PULL",
            "callbackAddress": consumer.settings.callback_address,
        }

    await consumer.connector.runner.run_once()  # the request; the provider agrees
    await provider.connector.runner.run_once()  # the agreement; the consumer verifies
    [row] = await provider.client.call("GET", "/negotiations")
    agreement_id = row["agreement_id"]
    early = await post(stepped, "/transfers/request", transfer_request(), token(stepped))
    assert early.status_code == 400 and early.json()["code"] == "agreement_not_final"

    await consumer.connector.runner.run_once()  # the verification; we owe FINALIZED now
    [row] = await provider.client.call("GET", "/negotiations")
    assert (row["state"], row["pending"]) == ("VERIFIED", "FINALIZED")
    response = await post(stepped, "/transfers/request", transfer_request(), token(stepped))
    assert response.status_code == 201
