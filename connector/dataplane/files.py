"""A file or a directory of the owner's as a source, with single byte ranges (RFC 9110 §14).

Reads go through `os.pread` in a worker thread, one chunk at a time: a 1 GiB file costs the
connector one chunk of memory, never the file.
"""

from __future__ import annotations

import contextlib
import functools
import json
import mimetypes
import os
import stat
from collections.abc import AsyncIterator
from email.utils import formatdate
from pathlib import Path

import anyio

from connector.dataplane.errors import BadDataRequest, RangeNotSatisfiable
from connector.dataplane.sources import Body, DataRequest, SourceSpec, clean_subpath
from connector.errors import NotFound

CHUNK = 1 << 20
SMALL_FILE = 64 * 1024  # read whole, in one thread hop: no worse than one chunk
MAX_LISTING = 10_000


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) inclusive for one `bytes=` range; None to serve the whole file.

    Several ranges and malformed headers are ignored (RFC 9110 lets a server do so); a range
    that starts past the end is not satisfiable."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first_text, sep, last_text = header[6:].strip().partition("-")
    if not sep:
        return None
    try:
        if not first_text:  # the last N bytes
            suffix = int(last_text)
            if suffix <= 0:
                raise RangeNotSatisfiable("an empty suffix range", size=size)
            return max(0, size - suffix), size - 1
        first = int(first_text)
        last = int(last_text) if last_text else size - 1
    except ValueError:
        return None
    if first >= size:
        raise RangeNotSatisfiable(f"the range starts past the end ({size} bytes)", size=size)
    if first < 0 or last < first:
        return None
    return first, min(last, size - 1)


async def open_file(spec: SourceSpec, request: DataRequest, *, chunk: int = CHUNK) -> Body:
    """`chunk`: the most one read returns (one chunk is all the file costs in memory)."""
    root = Path(spec.text("path"))
    sub = clean_subpath(request.subpath)
    whole = request.range is None
    fd, info, target, data = await anyio.to_thread.run_sync(_locate, root, sub, whole)
    if data is not None:  # a small file, read in the same trip to the thread
        return Body(_once(data), headers=_headers(spec, target, info, len(data)))
    if fd is None:  # a directory
        listing = await anyio.to_thread.run_sync(_listing, target)
        data = json.dumps(listing, ensure_ascii=False).encode()
        return Body(
            _once(data),
            headers={"Content-Type": "application/json", "Content-Length": str(len(data))},
        )
    size = info.st_size
    try:
        chosen = parse_range(request.range, size)
    except RangeNotSatisfiable:
        os.close(fd)
        raise
    status, first, length = 200, 0, size
    headers = _headers(spec, target, info, size)
    if chosen is not None:
        status, first, length = 206, chosen[0], chosen[1] - chosen[0] + 1
        headers["Content-Range"] = f"bytes {chosen[0]}-{chosen[1]}/{size}"
        headers["Content-Length"] = str(length)
    return Body(_FileChunks(fd, first, length, chunk), status=status, headers=headers)


@functools.lru_cache(maxsize=256)
def _guess_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _headers(spec: SourceSpec, target: Path, info: os.stat_result, length: int) -> dict[str, str]:
    return {
        "Content-Type": str(spec.fields.get("contentType") or _guess_type(target.name)),
        "Accept-Ranges": "bytes",
        "Last-Modified": formatdate(info.st_mtime, usegmt=True),
        "Content-Length": str(length),
    }


def _locate(
    root: Path, sub: str, whole: bool
) -> tuple[int | None, os.stat_result, Path, bytes | None]:
    """Open the file a request names; a small one wanted whole is read (and closed) here."""
    if not sub:  # the dataset's own file: no need to resolve anything first
        with contextlib.suppress(OSError):
            fd = os.open(root, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            info = os.fstat(fd)
            if stat.S_ISREG(info.st_mode):
                if whole and info.st_size <= SMALL_FILE:
                    try:
                        return None, info, root, os.pread(fd, info.st_size, 0)
                    finally:
                        os.close(fd)
                return fd, info, root, None
            os.close(fd)
    try:
        base = root.resolve(strict=True)
    except (OSError, RuntimeError):
        raise NotFound("the dataset's file is not there", code="no_such_file") from None
    if sub and not base.is_dir():
        raise BadDataRequest("this dataset is one file; it has no sub-paths", code="bad_subpath")
    try:
        target = (base / sub).resolve(strict=True) if sub else base
    except (OSError, RuntimeError):
        raise NotFound(f"no file {sub!r} in this dataset", code="no_such_file") from None
    if not target.is_relative_to(base):  # a symbolic link pointing out of the directory
        raise NotFound(f"no file {sub!r} in this dataset", code="no_such_file")
    try:
        if target.is_dir():
            return None, target.stat(), target, None
        fd = os.open(target, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        raise NotFound(f"no file {sub!r} in this dataset", code="no_such_file") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise NotFound(f"{sub!r} is not a regular file", code="no_such_file")
    if whole and info.st_size <= SMALL_FILE:
        try:
            return None, info, target, os.pread(fd, info.st_size, 0)
        finally:
            os.close(fd)
    return fd, info, target, None


def _listing(directory: Path) -> dict[str, object]:
    entries: list[dict[str, object]] = []
    truncated = False
    with os.scandir(directory) as it:
        for entry in it:
            if len(entries) >= MAX_LISTING:
                truncated = True
                break
            if entry.name.startswith("."):
                continue
            is_dir = entry.is_dir()
            size = None if is_dir else entry.stat().st_size
            entries.append({"name": entry.name + ("/" if is_dir else ""), "size": size})
    entries.sort(key=lambda e: str(e["name"]))
    return {"entries": entries, "truncated": truncated}


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


class _FileChunks:
    """The bytes [offset, offset + length) of an open file; closing it closes the file, even
    if it was never read (an async generator would leak the descriptor then)."""

    def __init__(self, fd: int, offset: int, length: int, chunk: int = CHUNK) -> None:
        self._fd: int | None = fd
        self._offset = offset
        self._end = offset + length
        self._chunk = chunk

    def __aiter__(self) -> _FileChunks:
        return self

    async def __anext__(self) -> bytes:
        fd = self._fd
        if fd is None or self._offset >= self._end:
            await self.aclose()
            raise StopAsyncIteration
        size = min(self._chunk, self._end - self._offset)
        chunk = await anyio.to_thread.run_sync(os.pread, fd, size, self._offset)
        if not chunk:  # the file shrank under us: end short, the client sees the length
            await self.aclose()
            raise StopAsyncIteration
        self._offset += len(chunk)
        return chunk

    async def aclose(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
