"""Waiting shows where it waits: the management client tells a progress display each state
it sees until the process settles, and `tsunagu negotiate` shows that spinner on standard
error when it is a terminal (rich's TTY_COMPATIBLE stands in for one), never in a pipe."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from click.testing import CliRunner

from connector.cli import main
from connector.demo.localspace import LocalDataspace
from tests.e2e.conftest import open_offer, publish

pytestmark = pytest.mark.anyio
DATASET = "urn:tsunagu:dataset:202151:water-level"


async def test_waiting_tells_each_answer_until_settled(space: LocalDataspace) -> None:
    provider, consumer = space["provider"], space["consumer"]
    await publish(provider, DATASET, open_offer("urn:offer:wait"))
    started = await consumer.client.call(
        "POST", "/negotiations", json={"provider": provider.did, "dataset_id": DATASET}
    )
    seen: list[dict[str, Any]] = []
    done = await consumer.client.wait_for(
        "negotiations", started["id"], ["FINALIZED"], timeout=30, on_update=seen.append
    )
    assert done["state"] == "FINALIZED"
    assert seen and {r["id"] for r in seen} == {started["id"]} and seen[-1] == done


async def test_negotiate_shows_what_it_waits_for_on_a_terminal_only(
    space: LocalDataspace,
) -> None:
    provider, consumer = space["provider"], space["consumer"]
    await publish(provider, DATASET, open_offer("urn:offer:wait"))
    args = ["negotiate", str(consumer.settings.directory), provider.did, DATASET]

    def invoke(env: dict[str, str] | None) -> Any:
        return CliRunner().invoke(main, args, env=env)

    shown = await anyio.to_thread.run_sync(lambda: invoke({"TTY_COMPATIBLE": "1"}))
    assert shown.exit_code == 0, shown.output
    assert "negotiation FINALIZED" in shown.stdout
    assert "negotiation urn:" in shown.stderr and ": waiting" in shown.stderr
    piped = await anyio.to_thread.run_sync(lambda: invoke(None))
    assert piped.exit_code == 0, piped.output
    assert piped.stdout.startswith("negotiation FINALIZED") and piped.stderr == ""
