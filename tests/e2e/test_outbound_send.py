"""An address that passed the door but resolves somewhere forbidden when the message is sent
(DNS changed, or rebinding) is refused before any connection, once: the runner and the pusher
treat the refusal as final instead of retrying it (issue 15, defect 1).

The names below resolve, for the connectors under test, through a scripted resolver: not at
all when the address is given (so the door lets it pass), then to forbidden addresses. Nothing
is ever sent anywhere but loopback.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from connector.demo.localspace import LocalDataspace
from tests.dataplane.conftest import COUNCIL, agree
from tests.dataplane.conftest import publish as publish_data
from tests.e2e.conftest import open_offer, publish
from tests.e2e.peer import DATASET, post, request_body, token
from tests.outbound.support import ScriptedResolver

pytestmark = pytest.mark.anyio


@pytest.fixture
def resolver() -> ScriptedResolver:
    return ScriptedResolver(
        {
            "localhost": ["127.0.0.1"],  # the connectors and the authority
            "consumer.test": [[], ["169.254.169.254"]],
            "sink.test": [[], ["10.0.0.9"]],
        }
    )


@pytest.fixture
async def space(tmp_path: Path, resolver: ScriptedResolver) -> AsyncIterator[LocalDataspace]:
    async with LocalDataspace(tmp_path, resolver=resolver) as space:
        await space.start_authority()
        await space.add("provider", "A市", municipality_code="202151", memberships=[COUNCIL])
        await space.add("consumer", "C村", municipality_code="204323", memberships=[COUNCIL])
        yield space


async def test_a_callback_that_now_resolves_to_metadata_ends_the_negotiation_unretried(
    space: LocalDataspace, resolver: ScriptedResolver
) -> None:
    await publish(space["provider"], DATASET, open_offer("urn:offer:bad"))
    body = request_body(space, callbackAddress="https://consumer.test/dsp/2025-1")
    response = await post(space, "/negotiations/request", body, token(space))
    assert response.status_code == 201, response.text  # the name did not resolve at the door
    provider = space["provider"].client
    with anyio.fail_after(20):
        while True:
            [row] = await provider.call("GET", "/negotiations")
            if row["state"] == "TERMINATED":
                break
            await anyio.sleep(0.05)
    assert "outbound_address_refused" in row["last_error"]
    assert "169.254.169.254" in row["last_error"]
    # the door's lookup, the agreement's and the termination's: no retries
    assert resolver.calls.count("consumer.test") == 3


async def test_a_push_sink_that_now_resolves_to_a_private_address_terminates_at_once(
    space: LocalDataspace, resolver: ScriptedResolver
) -> None:
    await publish_data(space, "urn:test:rebind", {"type": "file", "path": "/etc/hostname"})
    agreement_id = await agree(space, "urn:test:rebind")
    sink = {
        "@type": "DataAddress",
        "endpointType": "https://w3id.org/idsa/v4.1/HTTP",
        "endpoint": "https://sink.test/data/sinks/x",
        "endpointProperties": [
            {"@type": "EndpointProperty", "name": "authorization", "value": "bearer-of-choice"}
        ],
    }
    consumer = space["consumer"].client
    started = await consumer.call(
        "POST",
        "/transfers",
        json={"agreement_id": agreement_id, "format": "HttpData-PUSH", "data_address": sink},
    )
    ended = await consumer.wait_for("transfers", started["id"], ["TERMINATED"], timeout=20)
    assert ended["state"] == "TERMINATED"
    detail = ended["events"][-1]["detail"]
    assert detail["code"] == "outbound_address_refused", detail
    assert "10.0.0.9" in detail["reason"][0]
    assert resolver.calls.count("sink.test") == 2  # the door's lookup and one push attempt
