"""DSP rules a peer relies on: discovery, idempotent starts, 400 for late or repeated
messages, 404 for unknown or someone else's processes, and the GET endpoints on both sides."""

from __future__ import annotations

import httpx
import pytest

from connector.demo.localspace import LocalDataspace
from tests.e2e.conftest import open_offer, publish
from tests.e2e.peer import CONTEXT, get, post, request_body, token

pytestmark = pytest.mark.anyio
DATASET = "urn:tsunagu:dataset:rules"


async def finalized(space: LocalDataspace) -> tuple[str, str]:
    """(consumerPid, providerPid) of a finished negotiation."""
    await publish(space["provider"], DATASET, open_offer("urn:offer:bad"))
    consumer = space["consumer"].client
    started = await consumer.call(
        "POST", "/negotiations", json={"provider": space["provider"].did, "dataset_id": DATASET}
    )
    done = await consumer.wait_for("negotiations", started["id"], ["FINALIZED"], timeout=20)
    assert done["state"] == "FINALIZED"
    # The provider books FINALIZED once the consumer's acknowledgement is back.
    await space["provider"].client.wait_for("negotiations", done["peer_pid"], ["FINALIZED"])
    return done["id"], done["peer_pid"]


async def test_discovery_is_unauthenticated(space: LocalDataspace) -> None:
    root = space["provider"].settings.public_url
    async with httpx.AsyncClient() as http:
        versions = (await http.get(root + "/.well-known/dspace-version")).json()
        did = (await http.get(root + "/.well-known/did.json")).json()
    [entry] = versions["protocolVersions"]
    assert (entry["version"], entry["path"], entry["binding"]) == ("2025-1", "/dsp/2025-1", "HTTPS")
    assert did["id"] == space["provider"].did
    assert did["verificationMethod"][0]["publicKeyJwk"]["crv"] == "Ed25519"
    services = {s["type"]: s["serviceEndpoint"] for s in did["service"]}
    assert services["CatalogService"] == space["provider"].settings.dsp_base + "/catalog"


async def test_repeated_initial_request_returns_the_same_process(space: LocalDataspace) -> None:
    await publish(space["provider"], DATASET, open_offer("urn:offer:bad"))
    body = request_body(space, dataset=DATASET)
    first = await post(space, "/negotiations/request", body, token(space))
    again = await post(space, "/negotiations/request", body, token(space))
    assert first.status_code == again.status_code == 201
    assert first.json()["providerPid"] == again.json()["providerPid"]
    assert len(await space["provider"].client.call("GET", "/negotiations")) == 1


async def test_a_first_message_cannot_name_the_receivers_process(space: LocalDataspace) -> None:
    await publish(space["provider"], DATASET, open_offer("urn:offer:bad"))
    body = request_body(space, dataset=DATASET, providerPid="urn:uuid:made-up")
    response = await post(space, "/negotiations/request", body, token(space))
    assert response.status_code == 400
    assert "providerPid" in str(response.json())
    assert await space["provider"].client.call("GET", "/negotiations") == []


async def test_get_negotiation_on_both_sides(space: LocalDataspace) -> None:
    consumer_pid, provider_pid = await finalized(space)
    at_provider = await get(space, f"/negotiations/{provider_pid}", token(space))
    assert at_provider.status_code == 200
    assert at_provider.json() == {
        "@context": CONTEXT,
        "@type": "ContractNegotiation",
        "consumerPid": consumer_pid,
        "providerPid": provider_pid,
        "state": "FINALIZED",
    }
    back = token(space, sender="provider", receiver="consumer")
    at_consumer = await get(space, f"/negotiations/{consumer_pid}", back, who="consumer")
    assert at_consumer.status_code == 200 and at_consumer.json()["state"] == "FINALIZED"


async def test_late_and_repeated_messages_are_400_not_404(space: LocalDataspace) -> None:
    consumer_pid, provider_pid = await finalized(space)
    pids = {"consumerPid": consumer_pid, "providerPid": provider_pid}
    verification = {"@context": CONTEXT, "@type": "ContractAgreementVerificationMessage", **pids}
    response = await post(
        space, f"/negotiations/{provider_pid}/agreement/verification", verification, token(space)
    )
    assert response.status_code == 400
    assert response.json()["@type"] == "ContractNegotiationError"
    assert response.json()["code"] == "invalid_transition"
    termination = {
        "@context": CONTEXT,
        "@type": "ContractNegotiationTerminationMessage",
        **pids,
        "code": "late",
    }
    response = await post(
        space, f"/negotiations/{provider_pid}/termination", termination, token(space)
    )
    assert response.status_code == 400
    assert response.json()["providerPid"] == provider_pid


async def test_consumer_may_not_accept_its_own_offer(stepped: LocalDataspace) -> None:
    await publish(stepped["provider"], DATASET, open_offer("urn:offer:bad"), approval=True)
    created = await post(
        stepped, "/negotiations/request", request_body(stepped, dataset=DATASET), token(stepped)
    )
    provider_pid = created.json()["providerPid"]
    event = {
        "@context": CONTEXT,
        "@type": "ContractNegotiationEventMessage",
        "consumerPid": created.json()["consumerPid"],
        "providerPid": provider_pid,
        "eventType": "ACCEPTED",
    }
    response = await post(stepped, f"/negotiations/{provider_pid}/events", event, token(stepped))
    assert response.status_code == 400
    [row] = await stepped["provider"].client.call("GET", "/negotiations")
    assert row["state"] == "REQUESTED"


async def test_unknown_and_foreign_processes_are_404(space: LocalDataspace) -> None:
    consumer_pid, provider_pid = await finalized(space)
    await space.add("other", "D町")
    pids = {"consumerPid": consumer_pid, "providerPid": provider_pid}
    termination = {"@context": CONTEXT, "@type": "ContractNegotiationTerminationMessage", **pids}
    # someone else's negotiation looks exactly like a missing one
    foreign = await post(
        space,
        f"/negotiations/{provider_pid}/termination",
        termination,
        token(space, sender="other"),
    )
    assert foreign.status_code == 404
    assert (
        await get(space, f"/negotiations/{provider_pid}", token(space, sender="other"))
    ).status_code == 404
    missing = dict(termination, providerPid="urn:uuid:nope")
    assert (
        await post(space, "/negotiations/urn:uuid:nope/termination", missing, token(space))
    ).status_code == 404
    assert (await get(space, "/transfers/urn:uuid:nope", token(space))).status_code == 404


async def test_transfer_get_on_both_sides_and_unknown_agreement(space: LocalDataspace) -> None:
    consumer_pid, _ = await finalized(space)
    consumer = space["consumer"].client
    agreement_id = (await consumer.call("GET", f"/negotiations/{consumer_pid}"))["agreement_id"]
    started = await consumer.call("POST", "/transfers", json={"agreement_id": agreement_id})
    done = await consumer.wait_for("transfers", started["id"], ["STARTED"])
    # The provider books its start message delivered a moment after the consumer has it.
    await space["provider"].client.wait_for("transfers", done["peer_pid"], ["STARTED"])
    at_provider = await get(space, f"/transfers/{done['peer_pid']}", token(space))
    assert (
        at_provider.json()["state"] == "STARTED"
        and at_provider.json()["@type"] == "TransferProcess"
    )
    back = token(space, sender="provider", receiver="consumer")
    at_consumer = await get(space, f"/transfers/{done['id']}", back, who="consumer")
    assert at_consumer.json()["state"] == "STARTED"

    request = {
        "@context": CONTEXT,
        "@type": "TransferRequestMessage",
        "consumerPid": "urn:uuid:t-1",
        "agreementId": "urn:uuid:no-such-agreement",
        "format": "HttpData-PULL",
        "callbackAddress": space["consumer"].settings.callback_address,
    }
    response = await post(space, "/transfers/request", request, token(space))
    assert response.status_code == 400 and response.json()["@type"] == "TransferError"
    assert response.json()["code"] == "unknown_agreement"
