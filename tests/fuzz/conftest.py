"""The fuzzers' data space and their budget.

The default test run fuzzes a bounded number of examples per operation (about a minute for
both fuzzers); `TSUNAGU_FUZZ=full` runs the long campaign (docs/operations.md)."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.demo.localspace import LocalDataspace
from connector.outbound import OutboundRefused, OutboundUnresolved
from tests.conftest import PG_ENV, PostgresSchemas
from tests.fuzz.live import LiveSpace, live_space

FULL = os.environ.get("TSUNAGU_FUZZ", "").lower() == "full"
EXAMPLES = int(os.environ.get("TSUNAGU_FUZZ_EXAMPLES", "500" if FULL else "5"))
COUNCIL = "urn:tsunagu:council:fuzz"
DATASET = "urn:tsunagu:dataset:fuzz"
OFFER = "urn:offer:fuzz"


class LoopbackOnly:
    """Names resolve only to loopback: whatever address a fuzzer makes up, no request leaves
    the machine (tests talk to loopback only)."""

    async def resolve(self, host: str, port: int) -> list[str]:
        del port
        if host in ("localhost", "localhost."):
            return ["127.0.0.1"]
        raise OutboundUnresolved(f"{host}: the fuzzers resolve loopback names only")


def _loopback_guard(participant: Any) -> None:
    """Literal public addresses pass a dev-mode policy; the fuzzers refuse them too."""
    policy = participant.connector.outbound
    inner = policy.check_address

    def check_address(host: str, address: Any, *, what: str = "the address") -> None:
        if not ipaddress.ip_address(str(address)).is_loopback:
            raise OutboundRefused(f"{what} {host!r}: the fuzzers reach loopback only")
        inner(host, address, what=what)

    object.__setattr__(policy, "check_address", check_address)  # a frozen dataclass


async def _setup(space: LocalDataspace) -> dict[str, Any]:
    """Two members; the provider publishes one dataset; one finished negotiation and one
    started transfer between them (`live.made`: the consumer's view of each, `id` its pid and
    `peer_pid` the provider's), so mutated messages also reach real processes and their state
    machines, not only the "no such process" answer."""
    space.resolver = LoopbackOnly()
    await space.start_authority()
    for key, name in (("provider", "A市"), ("consumer", "C村")):
        participant = await space.add(key, name, municipality_code="202151", memberships=[COUNCIL])
        _loopback_guard(participant)
    await space["provider"].client.call(
        "POST",
        "/datasets",
        json={
            "id": DATASET,
            "title": "fuzzed",
            "data_address": {"type": "HttpData", "baseUrl": "http://127.0.0.1:9/api"},
            "offers": [{"policy": {"@id": OFFER, "permission": [{"action": "use"}]}}],
        },
    )
    consumer = space["consumer"].client
    started = await consumer.call(
        "POST", "/negotiations", json={"provider": space["provider"].did, "dataset_id": DATASET}
    )
    negotiation = await consumer.wait_for("negotiations", started["id"], ["FINALIZED"], timeout=30)
    assert negotiation["state"] == "FINALIZED", negotiation
    started = await consumer.call(
        "POST", "/transfers", json={"agreement_id": negotiation["agreement_id"]}
    )
    transfer = await consumer.wait_for("transfers", started["id"], ["STARTED"], timeout=30)
    assert transfer["state"] == "STARTED", transfer
    return {"negotiation": negotiation, "transfer": transfer}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveSpace]:
    """On SQLite, and on PostgreSQL when TSUNAGU_TEST_DATABASE_URL is set (NUL bytes, integer
    widths and column lengths are where the two differ)."""
    root: Path = tmp_path_factory.mktemp("fuzz")
    if request.param == "sqlite":
        with live_space(root, _setup) as space:
            yield space
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} not set (CI sets it to the local PostgreSQL)")
    schemas = PostgresSchemas(base)
    try:
        with live_space(
            root, _setup, database_for=lambda _key: schemas.new(migrated=True)
        ) as space:
            yield space
    finally:
        schemas.drop_all()
