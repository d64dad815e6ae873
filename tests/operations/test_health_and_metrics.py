"""/healthz, /readyz and /metrics on a real connector: readiness names what failed, and the
metrics count what happened (from this connector's own registry)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from connector.clock import ManualClock
from connector.demo.localspace import LocalDataspace
from tests.dataplane.conftest import start_pull

pytestmark = pytest.mark.anyio


async def _get(space: LocalDataspace, key: str, path: str, *, token: bool = False) -> Any:
    settings = space[key].settings
    headers = {"Authorization": f"Bearer {settings.management_token}"} if token else {}
    async with httpx.AsyncClient() as http:
        return await http.get(settings.public_url + path, headers=headers)


async def test_healthz_and_a_ready_connector(space: LocalDataspace) -> None:
    alive = await _get(space, "provider", "/healthz")
    assert alive.status_code == 200 and alive.json() == {"status": "alive"}
    ready = await _get(space, "provider", "/readyz")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ready" and body["failed"] == []
    assert body["checks"]["key"]["kid"] == space["provider"].connector.keys.active.kid
    assert body["checks"]["credential"]["issuer"] == space.authority.did  # type: ignore[union-attr]


async def test_a_missing_credential_is_named(space: LocalDataspace) -> None:
    space["provider"].settings.credential_path.unlink()
    ready = await _get(space, "provider", "/readyz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["failed"] == ["credential"]
    assert body["checks"]["credential"]["code"] == "credential_missing"


async def test_an_expired_credential_is_named(space: LocalDataspace, clock: ManualClock) -> None:
    clock.advance(400 * 86400)  # the credential was issued for 365 days
    body = (await _get(space, "provider", "/readyz")).json()
    assert "credential" in body["failed"]
    assert body["checks"]["credential"]["code"] == "credential_expired"


async def test_a_revoked_credential_is_named(space: LocalDataspace, clock: ManualClock) -> None:
    assert (await _get(space, "provider", "/readyz")).status_code == 200
    authority = space.authority
    assert authority is not None
    authority.revoke(subject=space["provider"].did, now=clock())
    clock.advance(61)  # past the status list's cache period
    ready = await _get(space, "provider", "/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["credential"]["code"] == "credential_revoked"


async def test_an_unreachable_database_is_named(tmp_path: Path) -> None:
    # SQLite only: closing a PostgreSQL pool under a running connector abandons the
    # connections its tasks hold, and the warning lands in some later test.
    async with LocalDataspace(tmp_path, background=False) as space:  # no runner at work
        await space.start_authority()
        await space.add("provider", "A市")
        space["provider"].connector.store.dispose()
        ready = await _get(space, "provider", "/readyz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["failed"] == ["database"] and body["checks"]["key"]["ok"]


def _sample(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        metric, _, value = line.rpartition(" ")
        head, _, rest = metric.partition("{")
        have = ",".join(sorted(rest.rstrip("}").split(","))) if rest else ""
        if head == name and have == wanted:
            return float(value)
    return 0.0


async def test_metrics(space: LocalDataspace, tmp_path: Path) -> None:
    assert (await _get(space, "provider", "/metrics")).status_code == 401
    (tmp_path / "levels.csv").write_text("station,level\n上流,1.42\n")
    pull = await start_pull(space, {"type": "file", "path": str(tmp_path / "levels.csv")})
    consumer = space["consumer"].client
    response = await consumer._http.get(
        f"{consumer.base_url}/management/transfers/{pull.consumer_id}/data",
        headers={**consumer._headers, "Accept-Encoding": "identity"},
    )
    assert response.status_code == 200
    refused = await _get(space, "provider", "/management/negotiations?offset=-1", token=True)
    assert refused.status_code == 400

    text = (await _get(space, "provider", "/metrics", token=True)).text
    assert (
        _sample(text, "tsunagu_processes", kind="negotiation", role="provider", state="FINALIZED")
        == 1
    )
    assert (
        _sample(text, "tsunagu_processes", kind="transfer", role="provider", state="STARTED") == 1
    )
    assert _sample(text, "tsunagu_refusals_total", reason="invalid_request") == 1
    assert (
        _sample(
            text,
            "tsunagu_http_requests_total",
            route="/dsp/2025-1/negotiations/request",
            method="POST",
            status="201",
        )
        == 1
    )
    size = len((tmp_path / "levels.csv").read_bytes())
    assert _sample(text, "tsunagu_data_bytes_total", direction="out") == size  # provider served
    assert _sample(text, "tsunagu_lease_lag_seconds") == 0
    # the consumer's own registry: its operator read the same bytes through it
    theirs = (await _get(space, "consumer", "/metrics", token=True)).text
    assert _sample(theirs, "tsunagu_data_bytes_total", direction="out") == size
    assert _sample(theirs, "tsunagu_refusals_total", reason="invalid_request") == 0
