"""`tsunagu keys rotate` on a participant whose connector is running: the README's rotation
runbook, checked — the connector signs with the new key at once and peers still accept it."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from connector.cli import main
from connector.demo.localspace import LocalDataspace
from tests.e2e.conftest import open_offer, publish

pytestmark = pytest.mark.anyio
DATASET = "urn:tsunagu:dataset:rotated"


async def test_rotate_while_running(space: LocalDataspace) -> None:
    consumer = space["consumer"]
    old = consumer.connector.keys.active.kid
    runner = CliRunner()
    rotated = runner.invoke(main, ["keys", "rotate", str(consumer.settings.directory)])
    assert rotated.exit_code == 0, rotated.output
    assert consumer.connector.keys.active.kid != old  # the running connector took it up
    listed = runner.invoke(main, ["keys", "list", str(consumer.settings.directory)])
    header, active, *_ = listed.output.splitlines()
    assert header.split() == ["key", "id", "state"] and active.endswith("active")
    assert old in listed.output

    await publish(space["provider"], DATASET, open_offer("urn:offer:rotated"))
    started = await consumer.client.call(
        "POST", "/negotiations", json={"provider": space["provider"].did, "dataset_id": DATASET}
    )
    done = await consumer.client.wait_for("negotiations", started["id"], ["FINALIZED"])
    assert done["state"] == "FINALIZED"  # signed with the new key, accepted by the provider
