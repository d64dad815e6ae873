"""Two `tsunagu serve` processes per participant on one PostgreSQL database, behind a
round-robin reverse proxy on loopback (docs/deployment.md): each request is served by either
process, and a whole negotiation and transfer succeed through it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import PG_ENV
from tests.crash.chaos import Operator
from tests.crash.cluster import Cluster

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]
DATASET = "urn:tsunagu:dataset:proxied"
OFFER = {"@type": "Offer", "@id": "urn:offer:proxied", "permission": [{"action": "use"}]}


async def test_a_negotiation_and_a_transfer_through_two_processes_each(tmp_path: Path) -> None:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} not set (CI sets it to the local PostgreSQL)")
    readings = tmp_path / "levels.csv"
    readings.write_text("station,level\nA-1,2.31\nA-2,1.07\n")
    cluster = Cluster(tmp_path / "space", postgres=url, processes=2)
    try:
        await cluster.start()
        async with httpx.AsyncClient(timeout=30) as http:
            provider = Operator(cluster["provider"], http)
            consumer = Operator(cluster["consumer"], http)
            deadline = time.monotonic() + 60
            status, _ = await provider.once(
                "POST",
                "/datasets",
                json={
                    "id": DATASET,
                    "title": "water levels",
                    "data_address": {"type": "file", "path": str(readings)},
                    "offers": [{"policy": OFFER}],
                },
            )
            assert status == 201
            status, started = await consumer.once(
                "POST",
                "/negotiations",
                json={"provider": cluster["provider"].did, "dataset_id": DATASET},
            )
            assert status == 201, started
            done = await consumer.settle("negotiations", started["id"], "FINALIZED", deadline)
            assert done["state"] == "FINALIZED", done
            status, transfer = await consumer.once(
                "POST", "/transfers", json={"agreement_id": done["agreement_id"]}
            )
            assert status == 201, transfer
            moved = await consumer.settle("transfers", transfer["id"], "STARTED", deadline)
            assert moved["state"] == "STARTED", moved
            for _ in range(4):  # the data, read through either consumer process from either
                data = await http.get(  # provider process
                    f"{cluster['consumer'].base}/management/transfers/{transfer['id']}/data",
                    headers=consumer.headers,
                )
                assert (data.status_code, data.text) == (200, readings.read_text())
            status, _ = await consumer.once(
                "POST", f"/transfers/{transfer['id']}/complete", json={}
            )
            assert status == 200
            ended = await consumer.settle("transfers", transfer["id"], "COMPLETED", deadline)
            assert ended["state"] == "COMPLETED", ended
            [theirs] = await provider.find("transfers", deadline, peer_pid=transfer["id"])
            theirs = await provider.settle("transfers", theirs["id"], "COMPLETED", deadline)
            assert theirs["state"] == "COMPLETED", theirs
        for side in cluster.sides.values():
            assert side.proxy is not None
            for node in side.nodes:  # every process answered some of the requests
                assert side.proxy.served[node.base] > 0, (node.label, side.proxy.served)
    finally:
        await cluster.stop()
