"""The consumer's side: one management call or one CLI command streams the data, with the
tokens kept fresh by the consumer's connector."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import pytest

from connector.clock import ManualClock
from connector.demo.localspace import LocalDataspace
from connector.store.dataplane_tables import DataCredentialRow

from .conftest import start_pull

pytestmark = pytest.mark.anyio
TSUNAGU = str(Path(sys.executable).with_name("tsunagu"))


@pytest.fixture
def share(tmp_path: Path) -> Path:
    root = tmp_path / "share"
    root.mkdir()
    (root / "levels.csv").write_text("station,level\n上流,1.42\n")
    (root / "big.bin").write_bytes(bytes(range(256)) * 8192)  # 2 MiB
    return root


async def read(space: LocalDataspace, pid: str, **params: str) -> tuple[int, bytes]:
    consumer = space["consumer"].client
    response = await consumer._http.get(
        f"{consumer.base_url}/management/transfers/{pid}/data",
        params=params,
        headers={**consumer._headers, "Accept-Encoding": "identity"},
    )
    return response.status_code, response.content


async def test_the_operator_reads_through_the_consumer_connector(
    space: LocalDataspace, share: Path
) -> None:
    pull = await start_pull(space, {"type": "file", "path": str(share)})
    status, body = await read(space, pull.consumer_id, path="levels.csv")
    assert status == 200 and body == (share / "levels.csv").read_bytes()
    status, body = await read(space, pull.consumer_id, path="big.bin")
    assert status == 200 and body == (share / "big.bin").read_bytes()
    status, body = await read(space, pull.consumer_id, path="nope")
    assert status == 404 and b"no_such_file" in body


async def test_the_consumer_refreshes_before_expiry_and_after_a_401(
    timed: LocalDataspace, clock: ManualClock, share: Path
) -> None:
    pull = await start_pull(timed, {"type": "file", "path": str(share / "levels.csv")})
    assert (await read(timed, pull.consumer_id))[0] == 200
    store = timed["consumer"].connector.store

    def credential() -> DataCredentialRow:
        with store.transaction() as tx:
            row = tx.session.get(DataCredentialRow, pull.consumer_id)
            assert row is not None
            return row

    first = credential()
    clock.advance(260)  # under a minute left: refreshed before use
    assert (await read(timed, pull.consumer_id))[0] == 200
    second = credential()
    assert second.access_token != first.access_token
    assert second.refresh_token != first.refresh_token
    clock.advance(1000)  # long expired: the provider says 401, the consumer refreshes once
    assert (await read(timed, pull.consumer_id))[0] == 200
    assert credential().access_token != second.access_token


async def test_reading_a_transfer_that_is_not_started_is_refused(
    space: LocalDataspace, share: Path
) -> None:
    pull = await start_pull(space, {"type": "file", "path": str(share / "levels.csv")})
    await space["consumer"].client.call("POST", f"/transfers/{pull.consumer_id}/suspend", json={})
    await space["consumer"].client.wait_for("transfers", pull.consumer_id, ["SUSPENDED"])
    status, body = await read(space, pull.consumer_id)
    assert status == 409 and b"transfer_not_started" in body


async def test_tsunagu_fetch_streams_to_a_file_and_stdout(
    space: LocalDataspace, share: Path, tmp_path: Path
) -> None:
    pull = await start_pull(space, {"type": "file", "path": str(share)})
    directory = space["consumer"].settings.directory
    out = tmp_path / "copy.bin"
    done = await anyio.run_process(
        [TSUNAGU, "fetch", str(directory), pull.consumer_id, "--path", "big.bin", "-o", str(out)]
    )
    assert out.read_bytes() == (share / "big.bin").read_bytes()
    assert b"wrote 2097152 bytes" in done.stderr
    assert b"B/s" not in done.stderr  # no progress off a terminal
    # On a terminal (rich's TTY_COMPATIBLE stands in for one): a bar with sizes and a rate.
    shown = await anyio.run_process(
        [TSUNAGU, "fetch", str(directory), pull.consumer_id, "--path", "big.bin", "-o", str(out)],
        env={**os.environ, "TTY_COMPATIBLE": "1"},
    )
    assert b"2.1/2.1 MB" in shown.stderr and b"B/s" in shown.stderr
    printed = await anyio.run_process(
        [TSUNAGU, "fetch", str(directory), pull.consumer_id, "--path", "levels.csv"]
    )
    assert printed.stdout.decode() == "station,level\n上流,1.42\n"
    failed = await anyio.run_process(
        [TSUNAGU, "fetch", str(directory), pull.consumer_id, "--path", "nope"], check=False
    )
    assert failed.returncode != 0 and b"no_such_file" in failed.stderr
    assert b"Traceback" not in failed.stderr
