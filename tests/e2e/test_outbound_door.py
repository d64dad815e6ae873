"""Addresses a peer gives are checked when it gives them: a negotiation or transfer request
whose callback or push sink points at loopback-only, private, link-local or metadata addresses
is refused with a DSP error, and nothing is stored (issue 15, defect 1).

The connectors run in dev mode (loopback allowed); the refused addresses are IP literals, so
the decision needs no DNS, and nothing is ever sent to them.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from connector.api.client import ManagementError
from connector.demo.localspace import LocalDataspace
from tests.dataplane.conftest import agree
from tests.dataplane.conftest import publish as publish_data
from tests.e2e.conftest import open_offer, publish
from tests.e2e.peer import CONTEXT, DATASET, post, request_body, token

pytestmark = pytest.mark.anyio

REFUSED = [
    "http://10.0.0.5/dsp",
    "http://192.168.1.1:8080/dsp",
    "http://169.254.169.254/latest/meta-data",
    "http://[fd00:ec2::254]/latest",
    "http://[::ffff:10.0.0.1]/dsp",
    "http://0.0.0.0:8080/dsp",
    "http://224.0.0.1/dsp",
    "http://2130706433/dsp",  # 127.0.0.1 in a spelling resolvers accept
]


@pytest.mark.parametrize("callback", REFUSED)
async def test_a_negotiation_request_with_a_forbidden_callback_is_refused_at_the_door(
    space: LocalDataspace, callback: str
) -> None:
    await publish(space["provider"], DATASET, open_offer("urn:offer:bad"))
    body = request_body(space, callbackAddress=callback)
    response = await post(space, "/negotiations/request", body, token(space))
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["@type"] == "ContractNegotiationError"
    assert error["code"] == "outbound_address_refused"
    assert await space["provider"].client.call("GET", "/negotiations") == []


async def test_the_loopback_callback_of_dev_mode_is_accepted(space: LocalDataspace) -> None:
    await publish(space["provider"], DATASET, open_offer("urn:offer:bad"))
    response = await post(space, "/negotiations/request", request_body(space), token(space))
    assert response.status_code == 201, response.text


def _transfer_request(space: LocalDataspace, agreement_id: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "TransferRequestMessage",
        "consumerPid": f"urn:uuid:{uuid.uuid4()}",
        "agreementId": agreement_id,
        "format": "HttpData-PUSH",
        "callbackAddress": space["consumer"].settings.callback_address,
        "dataAddress": {
            "@type": "DataAddress",
            "endpointType": "https://w3id.org/idsa/v4.1/HTTP",
            "endpoint": space["consumer"].settings.public_url + "/data/sinks/x",
            "endpointProperties": [
                {"@type": "EndpointProperty", "name": "authorization", "value": "attacker"}
            ],
        },
    }
    body.update(changes)
    return body


@pytest.mark.parametrize("where", ["sink", "callback"])
async def test_a_push_request_with_a_forbidden_address_is_refused_at_the_door(
    space: LocalDataspace, where: str
) -> None:
    await publish_data(space, "urn:test:door", {"type": "file", "path": "/etc/hostname"})
    agreement_id = await agree(space, "urn:test:door")
    body = _transfer_request(space, agreement_id)
    if where == "sink":
        body["dataAddress"]["endpoint"] = "http://169.254.169.254/latest/meta-data/iam"
    else:
        body["callbackAddress"] = "http://10.1.2.3/dsp"
    response = await post(space, "/transfers/request", body, token(space))
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["@type"] == "TransferError"
    assert error["code"] == "outbound_address_refused"
    assert await space["provider"].client.call("GET", "/transfers") == []


@pytest.mark.parametrize(
    "address", ["http://169.254.169.254/dsp", "https://user:pw@partner.example/dsp", "\u007f"]
)
async def test_the_operator_gets_a_clear_400_for_a_refused_provider_address(
    space: LocalDataspace, address: str
) -> None:
    with pytest.raises(ManagementError) as caught:
        await space["consumer"].client.call(
            "POST",
            "/negotiations",
            json={
                "provider": space["provider"].did,
                "dataset_id": DATASET,
                "provider_address": address,
            },
        )
    # a control character is refused sooner, by the input limits at the door (api/door.py)
    expected = "invalid_characters" if address == "\u007f" else "outbound_address_refused"
    assert caught.value.code == expected
    assert await space["consumer"].client.call("GET", "/negotiations") == []
