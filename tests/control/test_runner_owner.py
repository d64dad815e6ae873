"""A process that takes a crashed one's place (same host and port, so the same runner name)
frees what its predecessor held at once, instead of waiting for the leases to lapse."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from connector.clock import ManualClock
from connector.control.runner import Runner
from connector.demo.localspace import LocalDataspace
from connector.serving import free_port
from connector.store.tables import NegotiationRow
from policies.odrl import parse_policy

pytestmark = pytest.mark.anyio
OFFER = {"@type": "Offer", "@id": "urn:offer:owner", "permission": [{"action": "use"}]}


@pytest.mark.parametrize("successor", ["host:8080", None])
async def test_the_successor_frees_its_predecessors_leases(
    tmp_path: Path, successor: str | None
) -> None:
    clock = ManualClock()
    async with LocalDataspace(tmp_path, clock=clock, background=False) as space:
        await space.start_authority()
        consumer = (await space.add("consumer", "C村")).connector
        row = consumer.negotiations.request(
            provider_did="did:web:localhost%3A1",
            provider_address=f"http://127.0.0.1:{free_port()}/dsp/2025-1",  # nobody listens
            dataset_id="urn:ds:owner",
            offer=parse_policy(OFFER),
        )
        with consumer.store.transaction() as tx:  # held by the process that was killed
            held = tx.process(NegotiationRow, row.id)
            held.lease_owner, held.lease_until = "host:8080", clock() + timedelta(hours=1)
            tx.add(held)
        tried = asyncio.Event()
        runner = Runner(
            consumer.store,
            consumer.dispatcher,
            clock,
            consumer.runner.services,
            owner=successor,
            idle_seconds=0.05,
            on_change=lambda _pid: tried.set(),
        )
        task = asyncio.create_task(runner.run_forever())
        try:
            if successor is None:  # someone else: the lease stands until it lapses
                await asyncio.wait_for(_passes(runner, 3), 10)
                assert not tried.is_set()
            else:
                await asyncio.wait_for(tried.wait(), 10)  # sent at once (and failed)
        finally:
            runner.stop()
            await task
        with consumer.store.transaction() as tx:
            after = tx.process(NegotiationRow, row.id)
        assert after.attempts == (0 if successor is None else 1)


async def _passes(runner: Runner, n: int) -> None:
    """Let the runner look in the store `n` times."""
    for _ in range(n):
        runner.wake()
        await asyncio.sleep(0.1)
