"""HTTP(S) owner APIs and read-only SQL queries as sources."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from sqlalchemy import create_engine, text

from connector.demo.localspace import LocalDataspace
from connector.serving import free_port
from connector.store.database import normalise_url

from .conftest import start_pull
from .owner import API_KEY

pytestmark = pytest.mark.anyio


def http_source(base: str, **extra: Any) -> dict[str, Any]:
    return {"type": "http", "baseUrl": base, "headers": {"X-Api-Key": API_KEY}, **extra}


async def test_owner_credentials_are_added_and_never_leak(
    space: LocalDataspace, owner: tuple[str, dict[str, Any]]
) -> None:
    base, state = owner
    pull = await start_pull(space, http_source(f"{base}/levels", allowQuery=["station"]))
    response = await pull.get(params={"station": "上流"})
    assert response.status_code == 200
    assert response.json() == {"station": "上流", "level_m": 1.42}
    seen = state["seen"][-1]
    assert seen["x-api-key"] == API_KEY
    assert "authorization" not in seen  # the consumer's token stays with the provider
    assert API_KEY not in response.text and "x-api-key" not in response.headers
    catalog = await space["consumer"].client.call(
        "GET", "/catalog", params={"provider": space["provider"].did}
    )
    assert API_KEY not in str(catalog) and base not in str(catalog)


async def test_only_allowed_query_parameters_and_paths_pass(
    space: LocalDataspace, owner: tuple[str, dict[str, Any]]
) -> None:
    base, _ = owner
    pull = await start_pull(
        space,
        http_source(base, allowPaths=["stations/*"], allowQuery=["station"], query={"v": "1"}),
    )
    assert (await pull.get("stations/上流")).json() == {"station": "上流"}
    refused = await pull.get("private/keys")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "path_not_allowed"
    bad_query = await pull.get("stations/x", params={"admin": "1"})
    assert bad_query.status_code == 400
    assert bad_query.json()["error"]["code"] == "query_not_allowed"
    missing = await pull.get("stations/missing")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "no_such_resource"


async def test_wrong_owner_credentials_are_a_502_for_the_owner_to_fix(
    space: LocalDataspace, owner: tuple[str, dict[str, Any]]
) -> None:
    base, _ = owner
    pull = await start_pull(space, {"type": "http", "baseUrl": f"{base}/levels"})
    response = await pull.get()
    assert response.status_code == 502 and "401" in response.json()["error"]["message"]


def sqlite_observations(path: Path) -> str:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE levels (station TEXT, at TEXT, level_m REAL)")
        db.executemany(
            "INSERT INTO levels VALUES (?, ?, ?)",
            [("上流", f"2026-04-01T09:{m:02d}", 1.0 + m / 100) for m in range(0, 60, 10)]
            + [("中流", "2026-04-01T09:00", 0.8)],
        )
    return f"sqlite:///{path}"


def sql_source(url: str) -> dict[str, Any]:
    return {
        "type": "sql",
        "url": url,
        "query": "SELECT station, at, level_m FROM levels WHERE station = :station ORDER BY at",
        "params": ["station"],
        "defaults": {"station": "上流"},
    }


async def test_sqlite_query_streams_rows_with_bound_parameters(
    space: LocalDataspace, tmp_path: Path
) -> None:
    url = sqlite_observations(tmp_path / "owner.db")
    pull = await start_pull(space, sql_source(url))
    rows = [
        httpx.Response(200, content=line).json() for line in (await pull.get()).content.splitlines()
    ]
    assert len(rows) == 6 and rows[0] == {
        "station": "上流",
        "at": "2026-04-01T09:00",
        "level_m": 1.0,
    }
    other = await pull.get(params={"station": "中流"})
    assert other.headers["content-type"] == "application/x-ndjson"
    assert other.text.count("\n") == 1
    injected = await pull.get(params={"station": "x' OR '1'='1"})
    assert injected.status_code == 200 and injected.text == ""  # bound, not spliced
    csv = await pull.get(params={"station": "中流"}, headers={"Accept": "text/csv"})
    assert csv.text == "station,at,level_m\n中流,2026-04-01T09:00,0.8\n"
    refused = await pull.get(params={"table": "users"})
    assert refused.status_code == 400


async def test_sqlite_source_is_read_only(space: LocalDataspace, tmp_path: Path) -> None:
    url = sqlite_observations(tmp_path / "owner.db")
    source = sql_source(url) | {"query": "WITH x AS (SELECT 1) DELETE FROM levels", "params": []}
    pull = await start_pull(space, source)
    response = await pull.get()
    assert response.status_code == 502
    with sqlite3.connect(tmp_path / "owner.db") as db:
        assert db.execute("SELECT count(*) FROM levels").fetchone()[0] == 7


@pytest.mark.postgres
async def test_postgresql_query_in_a_read_only_transaction(
    space: LocalDataspace, postgres_url: str
) -> None:
    database_url = postgres_url  # the owner's database, beside the participants' own
    engine = create_engine(normalise_url(database_url))
    with engine.begin() as db:
        db.execute(text("CREATE TABLE levels (station TEXT, at TEXT, level_m DOUBLE PRECISION)"))
        db.execute(text("INSERT INTO levels VALUES ('上流', '2026-04-01T09:00', 1.5)"))
    engine.dispose()
    pull = await start_pull(space, sql_source(database_url))
    assert (await pull.get()).json() == {
        "station": "上流",
        "at": "2026-04-01T09:00",
        "level_m": 1.5,
    }
    writer = sql_source(database_url) | {
        "query": "WITH gone AS (DELETE FROM levels RETURNING 1) SELECT * FROM gone",
        "params": [],
    }
    pull2 = await start_pull(space, writer, dataset="urn:test:writer")
    assert (await pull2.get()).status_code == 502
    engine = create_engine(normalise_url(database_url))
    with engine.begin() as db:
        assert db.execute(text("SELECT count(*) FROM levels")).scalar() == 1
    engine.dispose()


async def test_a_dead_database_is_502(space: LocalDataspace) -> None:
    dead = f"postgresql://nobody@127.0.0.1:{free_port()}/none"
    pull = await start_pull(space, sql_source(dead))
    response = await pull.get()
    assert response.status_code == 502 and response.json()["error"]["code"] == "backend_unavailable"


async def test_accumulation_serves_the_latest_copy_of_an_http_source(
    space: LocalDataspace, owner: tuple[str, dict[str, Any]]
) -> None:
    base, state = owner
    source = http_source(f"{base}/levels", accumulate={"intervalSeconds": 0.1})
    pull = await start_pull(space, source)
    assert (await pull.get()).json()["level_m"] == 1.42
    calls = len(state["seen"])
    state["level"] = 2.05  # the owner's gauge moves; the provider's copy follows
    with anyio.fail_after(5):
        while (await pull.get()).json()["level_m"] != 2.05:
            await anyio.sleep(0.05)
    assert len(state["seen"]) > calls  # polled by the provider, not per read


async def test_an_http_source_read_live_publishes_changes(
    space: LocalDataspace, owner: tuple[str, dict[str, Any]]
) -> None:
    base, state = owner
    pull = await start_pull(space, http_source(f"{base}/levels", live={"pollSeconds": 0.05}))
    async with (
        httpx.AsyncClient(timeout=10) as http,
        http.stream(
            "GET",
            pull.endpoint,
            headers={"Authorization": f"Bearer {pull.token}", "Accept": "application/x-ndjson"},
        ) as response,
    ):
        assert response.headers["content-type"] == "application/x-ndjson"
        seen = []
        async for line in response.aiter_lines():
            seen.append(json.loads(line)["payload"]["level_m"])
            if len(seen) == 1:
                state["level"] = 3.3
            if seen[-1] == 3.3:
                break
    assert seen[0] == 1.42 and seen[-1] == 3.3
