"""Pulling files and directories through the provider's data plane, end to end."""

from __future__ import annotations

import gzip
from pathlib import Path

import httpx
import pytest

from connector.demo.localspace import LocalDataspace

from .conftest import start_pull

pytestmark = pytest.mark.anyio
CSV = "station,at,level_m\n上流,2026-04-01T09:00+09:00,1.42\n" * 200


@pytest.fixture
def levels(tmp_path: Path) -> Path:
    path = tmp_path / "owner" / "levels.csv"
    path.parent.mkdir()
    path.write_text(CSV, encoding="utf-8")
    return path


async def test_pull_streams_the_whole_file_with_type_and_length(
    space: LocalDataspace, levels: Path
) -> None:
    pull = await start_pull(space, {"type": "file", "path": str(levels)})
    response = await pull.get()
    assert response.status_code == 200
    assert response.content == levels.read_bytes()
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-length"] == str(levels.stat().st_size)
    assert response.headers["accept-ranges"] == "bytes"


async def test_range_requests_get_206_and_out_of_range_416(
    space: LocalDataspace, levels: Path
) -> None:
    pull = await start_pull(space, {"type": "file", "path": str(levels)})
    data = levels.read_bytes()
    part = await pull.get(headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == data[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(data)}"
    tail = await pull.get(headers={"Range": "bytes=-5"})
    assert tail.status_code == 206 and tail.content == data[-5:]
    beyond = await pull.get(headers={"Range": f"bytes={len(data) + 10}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(data)}"
    assert beyond.json()["error"]["code"] == "range_not_satisfiable"


async def test_gzip_only_when_the_client_asks(space: LocalDataspace, levels: Path) -> None:
    pull = await start_pull(space, {"type": "file", "path": str(levels)})
    async with httpx.AsyncClient() as http:
        response = await http.get(
            pull.endpoint,
            headers={"Authorization": f"Bearer {pull.token}", "Accept-Encoding": "gzip"},
        )
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == levels.read_bytes()  # httpx decodes it
    async with (
        httpx.AsyncClient() as http,
        http.stream(
            "GET",
            pull.endpoint,
            headers={"Authorization": f"Bearer {pull.token}", "Accept-Encoding": "gzip"},
        ) as raw,
    ):
        body = b"".join([chunk async for chunk in raw.aiter_raw()])
    assert gzip.decompress(body) == levels.read_bytes() and len(body) < len(CSV)
    plain = await pull.get(headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers


async def test_a_large_file_streams_in_chunks(space: LocalDataspace, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    block = bytes(range(256)) * 4096  # 1 MiB
    with big.open("wb") as out:
        for _ in range(5):
            out.write(block)
    pull = await start_pull(space, {"type": "file", "path": str(big)})
    async with (
        httpx.AsyncClient() as http,
        http.stream(
            "GET", pull.endpoint, headers={"Authorization": f"Bearer {pull.token}"}
        ) as response,
    ):
        assert response.headers["content-type"] == "application/octet-stream"
        sizes = [len(c) async for c in response.aiter_raw()]
    assert sum(sizes) == 5 * len(block) and len(sizes) > 1


async def test_directory_lists_and_serves_files_but_never_escapes(
    space: LocalDataspace, tmp_path: Path
) -> None:
    root = tmp_path / "share"
    (root / "2026").mkdir(parents=True)
    (root / "2026" / "april.csv").write_text("a,b\n1,2\n")
    (root / "readme.txt").write_text("hello")
    (tmp_path / "secret.txt").write_text("owner only")
    (root / "link").symlink_to(tmp_path / "secret.txt")
    pull = await start_pull(space, {"type": "file", "path": str(root)})

    listing = (await pull.get()).json()
    assert {"name": "2026/", "size": None} in listing["entries"]
    assert (await pull.get("2026/april.csv")).text == "a,b\n1,2\n"
    assert (await pull.get("readme.txt")).text == "hello"
    # (encoded, so that the client does not collapse the dots itself)
    for bad in ("..%2Fsecret.txt", "2026%2F..%2F..%2Fsecret.txt", "%2E%2E/secret.txt", "link"):
        response = await pull.get(bad)
        assert response.status_code in (400, 404), bad
        assert "owner only" not in response.text
    assert (await pull.get("nope.csv")).status_code == 404


async def test_a_missing_file_is_404_not_500(space: LocalDataspace, tmp_path: Path) -> None:
    gone = tmp_path / "gone.csv"
    gone.write_text("a\n")  # there when published (the management API checks), gone later
    pull = await start_pull(space, {"type": "file", "path": str(gone)})
    gone.unlink()
    response = await pull.get()
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "no_such_file"
