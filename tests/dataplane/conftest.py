"""A provider (A市) and a consumer (C村) on loopback, and helpers to get a transfer going."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from connector.clock import ManualClock
from connector.demo.localspace import LocalDataspace
from connector.serving import BackgroundServer, free_port
from tests.conftest import with_migrated_sqlite
from tests.dataplane.owner import owner_app

COUNCIL = "urn:tsunagu:council:test-basin"


def offer(offer_id: str, *constraints: dict[str, Any]) -> dict[str, Any]:
    rule: dict[str, Any] = {"action": "use"}
    if constraints:
        rule["constraint"] = list(constraints)
    return {"@type": "Offer", "@id": offer_id, "permission": [rule]}


@dataclass
class Pull:
    """A started pull transfer, as both sides see it."""

    space: LocalDataspace
    consumer_id: str
    provider_id: str
    agreement_id: str
    address: dict[str, Any]

    @property
    def props(self) -> dict[str, str]:
        return {p["name"]: p["value"] for p in self.address["endpointProperties"]}

    @property
    def endpoint(self) -> str:
        return str(self.address["endpoint"])

    @property
    def token(self) -> str:
        return self.props["authorization"]

    async def get(
        self, path: str = "", *, token: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        headers.setdefault("Authorization", f"Bearer {token or self.token}")
        headers.setdefault("Accept-Encoding", "identity")
        async with httpx.AsyncClient(timeout=10) as http:
            return await http.get(
                self.endpoint + (f"/{path}" if path else ""), headers=headers, **kwargs
            )


async def publish(
    space: LocalDataspace, dataset_id: str, address: dict[str, Any], *offers: dict[str, Any]
) -> None:
    await space["provider"].client.call(
        "POST",
        "/datasets",
        json={
            "id": dataset_id,
            "title": f"dataset {dataset_id}",
            "data_address": address,
            "offers": [{"policy": o} for o in (offers or (offer(f"{dataset_id}:offer"),))],
        },
    )


async def agree(space: LocalDataspace, dataset_id: str) -> str:
    consumer = space["consumer"].client
    started = await consumer.call(
        "POST", "/negotiations", json={"provider": space["provider"].did, "dataset_id": dataset_id}
    )
    done = await consumer.wait_for("negotiations", started["id"], ["FINALIZED"], timeout=20)
    assert done["state"] == "FINALIZED", done
    return str(done["agreement_id"])


async def start_pull(
    space: LocalDataspace, address: dict[str, Any], *offers: dict[str, Any], dataset: str = ""
) -> Pull:
    dataset_id = dataset or f"urn:tsunagu:dataset:test:{len(space.participants)}:{id(address)}"
    await publish(space, dataset_id, address, *offers)
    agreement_id = await agree(space, dataset_id)
    consumer = space["consumer"].client
    started = await consumer.call("POST", "/transfers", json={"agreement_id": agreement_id})
    record = await consumer.wait_for("transfers", started["id"], ["STARTED"], timeout=20)
    assert record["state"] == "STARTED", record
    provider_id = record["data_address"]["endpoint"].rsplit("/data/", 1)[1]
    pull = Pull(space, record["id"], provider_id, agreement_id, record["data_address"])
    await provider_started(space, pull)
    return pull


async def provider_started(space: LocalDataspace, pull: Pull) -> None:
    """Wait for the provider to record its start (or resume) message as delivered.

    DSP moves a process when the receiver acknowledges: the consumer is STARTED as it
    answers, the provider only once that answer is back and recorded (a thread hop later on
    PostgreSQL). Until then its data plane refuses the token (`transfer_not_started`) and its
    events lack the START; the monitor only looks at transfers that owe the peer nothing."""
    record = await space["provider"].client.wait_for(
        "transfers", pull.provider_id, ["STARTED"], timeout=20
    )
    assert record["state"] == "STARTED" and record["pending"] is None, record


async def _space(
    tmp_path: Path, database_for: Callable[[str], str | None], migrated: Path, **kwargs: Any
) -> AsyncIterator[LocalDataspace]:
    urls = with_migrated_sqlite(tmp_path, migrated, database_for)
    async with LocalDataspace(tmp_path, database_url_for=urls, **kwargs) as space:
        await space.start_authority()
        await space.add("provider", "A市", municipality_code="202151", memberships=[COUNCIL])
        await space.add("consumer", "C村", municipality_code="204323", memberships=[COUNCIL])
        yield space


@pytest.fixture
async def space(
    tmp_path: Path, database_for: Callable[[str], str | None], migrated_sqlite: Path
) -> AsyncIterator[LocalDataspace]:
    async for s in _space(tmp_path, database_for, migrated_sqlite):
        yield s


@pytest.fixture
async def timed(
    tmp_path: Path,
    database_for: Callable[[str], str | None],
    clock: ManualClock,
    migrated_sqlite: Path,
) -> AsyncIterator[LocalDataspace]:
    """The same, on the advanceable test clock."""
    async for s in _space(tmp_path, database_for, migrated_sqlite, clock=clock):
        yield s


@pytest.fixture(autouse=True)
def _collect_garbage() -> Iterator[None]:
    """Leaked connections and sessions show up in the test that leaked them, not a later one."""
    yield
    gc.collect()


@pytest.fixture
async def owner() -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """The owner's own HTTP API (tests/dataplane/owner.py) on a loopback port, and its state."""
    state: dict[str, Any] = {}
    port = free_port()
    server = BackgroundServer(owner_app(state), host="127.0.0.1", port=port)
    await server.start()
    yield f"http://127.0.0.1:{port}/api", state
    state["released"].set()
    await server.stop()
