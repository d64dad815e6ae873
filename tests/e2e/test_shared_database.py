"""Several connector processes of one participant share one database (the scale-out path):
any of them may send what the participant owes a peer, and no message goes out twice."""

from __future__ import annotations

import pytest

from connector.app import build_connector
from connector.demo.localspace import LocalDataspace
from connector.store.tables import NegotiationRow
from tests.e2e.conftest import open_offer, publish

pytestmark = pytest.mark.anyio
DATASET = "urn:tsunagu:dataset:shared"


async def test_a_second_process_sends_what_the_first_one_owes(
    stepped: LocalDataspace,
) -> None:
    provider, consumer = stepped["provider"], stepped["consumer"]
    await publish(provider, DATASET, open_offer("urn:offer:s"))
    started = await consumer.client.call(
        "POST", "/negotiations", json={"provider": provider.did, "dataset_id": DATASET}
    )
    await consumer.connector.runner.run_once()  # the request reaches provider process 1

    # A second provider process: same participant directory, same database, its own runner.
    second = build_connector(provider.settings, clock=stepped.clock)
    try:
        assert second.store.engine.url == provider.connector.store.engine.url
        sent = await second.runner.run_once()  # it takes over the agreement process 1 owes
        assert sent == 1
        assert await provider.connector.runner.run_once() == 0  # leased and sent: not again
        await consumer.connector.runner.run_once()  # verification
        assert await second.runner.run_once() == 1  # finalized, again from process 2
        done = await consumer.client.call("GET", f"/negotiations/{started['id']}")
        assert done["state"] == "FINALIZED"
        with provider.connector.store.transaction() as tx:
            [row] = tx.processes(NegotiationRow)
            sent_events = [e.message for e in tx.events(row.id) if e.direction == "outbound"]
        assert sent_events == ["AGREEMENT", "FINALIZED"]  # each exactly once
    finally:
        await second.aclose()
