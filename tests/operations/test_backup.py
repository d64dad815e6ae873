"""`tsunagu backup` of a running participant and `tsunagu restore` into a new directory (and,
on PostgreSQL, a new schema): the restored connector has the same DID and keys, serves the
same catalogue and the same signed audit checkpoint, and carries on."""

from __future__ import annotations

import stat
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from click.testing import CliRunner

from connector.cli import main
from connector.demo.localspace import LocalDataspace
from connector.settings import load_settings
from tests.e2e.conftest import open_offer, publish

pytestmark = pytest.mark.anyio
DATASET = "urn:tsunagu:dataset:backed-up"


async def _operator(space: LocalDataspace, method: str, path: str, key: str = "provider") -> Any:
    settings = space[key].settings
    async with httpx.AsyncClient() as http:
        response = await http.request(
            method,
            settings.public_url + path,
            headers={"Authorization": f"Bearer {settings.management_token}"},
        )
    assert response.status_code < 300, response.text
    return response.json()


async def _seen(space: LocalDataspace) -> tuple[Any, Any, Any]:
    catalog = await space["consumer"].client.call(
        "GET", "/catalog", params={"provider": space["provider"].did}
    )
    checkpoint = await _operator(space, "GET", "/audit/checkpoint")
    entries = await _operator(space, "GET", "/audit/entries?limit=1000")
    return catalog, checkpoint, entries


async def _quiet(space: LocalDataspace) -> None:
    """Until both sides have delivered the receipts they owe (each lands as an entry in the
    other's log) and the provider's log stops growing: the snapshot is then a stable one."""
    last = -1
    for _ in range(100):
        owed = [
            await _operator(space, "GET", "/audit/receipts/outbox", key)
            for key in ("provider", "consumer")
        ]
        size = (await _operator(space, "GET", "/audit/entries?limit=1"))["tree_size"]
        if not any(o["receipts"] for o in owed) and size == last:
            return
        last = size
        await anyio.sleep(0.3)
    raise AssertionError("the two logs never settled")


async def test_backup_and_restore_round_trip(
    space: LocalDataspace, tmp_path: Path, database_for: Callable[[str], str | None]
) -> None:
    await publish(space["provider"], DATASET, open_offer("urn:offer:backed-up"))
    consumer = space["consumer"].client
    started = await consumer.call(
        "POST", "/negotiations", json={"provider": space["provider"].did, "dataset_id": DATASET}
    )
    done = await consumer.wait_for("negotiations", started["id"], ["FINALIZED"], timeout=20)
    assert done["state"] == "FINALIZED"
    provider = space["provider"]
    settled = await provider.client.wait_for("negotiations", done["peer_pid"], ["FINALIZED"])
    assert not settled["pending"]
    await _quiet(space)
    await _operator(space, "POST", "/audit/checkpoint")
    before = await _seen(space)
    assert before[2]["tree_size"] > 0

    archive = tmp_path / "backups" / "a.tar.gz"
    runner = CliRunner()
    made = runner.invoke(main, ["backup", str(provider.settings.directory), "-o", str(archive)])
    assert made.exit_code == 0, made.output
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600  # it holds the private keys
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert {"manifest.json", "participant/tsunagu.toml", "participant/credential.jwt"} <= names
    assert any(n.startswith("participant/keys/") for n in names)
    assert names & {"database/tsunagu.db", "database/rows.jsonl"}

    original = await space.stop("provider")
    target = tmp_path / "restored"
    url = database_for("restored")
    args = ["restore", str(archive), str(target)] + (["--database-url", url] if url else [])
    restored = runner.invoke(main, args)
    assert restored.exit_code == 0, restored.output
    settings = load_settings(target)
    assert settings.did == original.did and settings.port == original.port
    assert (target / "keys").is_dir()
    if url:
        assert settings.database_url == url and url != original.database_url

    await space.serve("provider", settings)
    after = await _seen(space)
    assert after == before  # the same catalogue, checkpoint and log
    # and it carries on: a new negotiation with the restored provider
    again = await consumer.call(
        "POST", "/negotiations", json={"provider": space["provider"].did, "dataset_id": DATASET}
    )
    finished = await consumer.wait_for("negotiations", again["id"], ["FINALIZED"], timeout=20)
    assert finished["state"] == "FINALIZED"
    grown = await _operator(space, "GET", "/audit/entries?limit=1000")
    assert grown["tree_size"] > before[2]["tree_size"]


async def test_restore_refuses_a_used_directory_and_junk(tmp_path: Path) -> None:
    runner = CliRunner()
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "file").write_text("x")
    (tmp_path / "junk.tar.gz").write_bytes(b"not an archive")
    result = runner.invoke(main, ["restore", str(tmp_path / "junk.tar.gz"), str(tmp_path / "new")])
    assert result.exit_code == 1 and "not a tsunagu backup" in result.output
    result = runner.invoke(main, ["restore", str(tmp_path / "junk.tar.gz"), str(tmp_path / "used")])
    assert result.exit_code == 1 and "not empty" in result.output
