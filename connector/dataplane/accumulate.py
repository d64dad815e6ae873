"""Accumulation mode for HTTP sources, and HTTP sources read live by polling.

Where the owner's system cannot take the load (a small town's sensor gateway), the provider
polls it every `intervalSeconds` and serves reads from the latest copy, bounded by `maxBytes`:
a consumer sees the same status, type and bytes it would have got directly. MQTT sources
accumulate in their feed's rolling buffer instead (`live.Feed`).

    "accumulate": {"intervalSeconds": 10, "maxBytes": 1048576}      (http)
    "accumulate": {"size": 1000}                                     (mqtt: latest N readings)
    "live": {"pollSeconds": 5}                                       (http read as a live stream)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from connector.clock import Clock
from connector.dataplane.errors import BackendUnavailable, SourceMisconfigured
from connector.dataplane.live import Feed, Feeds, Upstream, decode_payload
from connector.dataplane.sources import Body, DataRequest, SourceSpec
from connector.dataplane.upstream import HttpClient, request_upstream, upstream_url

log = logging.getLogger("tsunagu.dataplane")
DEFAULT_MAX_BYTES = 1 << 20
FIRST_COPY_TIMEOUT = 10.0


@dataclass(frozen=True)
class Copy:
    content_type: str
    body: bytes
    fetched_at: datetime


def _number(settings: object, name: str, default: float) -> float:
    value = settings.get(name, default) if isinstance(settings, dict) else default
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise SourceMisconfigured(f"{name!r} must be a positive number")
    return float(value)


async def fetch_copy(http: HttpClient, spec: SourceSpec, max_bytes: int, clock: Clock) -> Copy:
    url, params = upstream_url(spec, DataRequest())
    response = await request_upstream(http, spec, url, params, {"Accept-Encoding": "identity"})
    try:
        if response.status != 200:
            raise BackendUnavailable(f"the owner's system answered {response.status}")
        parts: list[bytes] = []
        size = 0
        while chunk := await response.content.read(65536):
            size += len(chunk)
            if size > max_bytes:
                raise BackendUnavailable(
                    f"the owner's resource is larger than maxBytes ({max_bytes}) and cannot be "
                    "accumulated"
                )
            parts.append(chunk)
        content_type = response.headers.get("Content-Type", "application/octet-stream")
        return Copy(content_type, b"".join(parts), clock())
    finally:
        response.release()


class Snapshots:
    def __init__(self, http: HttpClient, clock: Clock) -> None:
        self.http = http
        self.clock = clock
        self._copies: dict[str, Copy] = {}
        self._ready: dict[str, asyncio.Event] = {}
        self._errors: dict[str, str] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def read(self, spec: SourceSpec, request: DataRequest) -> Body:
        key = json.dumps(spec.fields, sort_keys=True)
        if key not in self._tasks:
            self._ready[key] = asyncio.Event()
            self._tasks[key] = asyncio.create_task(self._poll(key, spec))
        try:
            await asyncio.wait_for(self._ready[key].wait(), FIRST_COPY_TIMEOUT)
        except TimeoutError:
            raise BackendUnavailable(
                f"no copy of the owner's resource yet ({self._errors.get(key, 'no answer')})"
            ) from None
        copy = self._copies[key]
        return Body(
            _once(copy.body),
            headers={"Content-Type": copy.content_type, "Content-Length": str(len(copy.body))},
        )

    async def _poll(self, key: str, spec: SourceSpec) -> None:
        settings = spec.accumulate or {}
        interval = _number(settings, "intervalSeconds", 10.0)
        max_bytes = int(_number(settings, "maxBytes", DEFAULT_MAX_BYTES))
        while True:
            try:
                self._copies[key] = await fetch_copy(self.http, spec, max_bytes, self.clock)
                self._ready[key].set()
                self._errors.pop(key, None)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep serving the last copy; say why in the log
                self._errors[key] = str(exc)
                log.warning("accumulation of %s failed: %s", spec.fields.get("baseUrl"), exc)
            await asyncio.sleep(interval)

    def feed(self, feeds: Feeds, spec: SourceSpec) -> Feed:
        """An HTTP source read as live readings: polled, and published when it changed."""
        return feeds.get(
            "poll:" + json.dumps(spec.fields, sort_keys=True), lambda: self._poller(spec)
        )

    def _poller(self, spec: SourceSpec) -> Upstream:
        interval = _number(spec.fields.get("live"), "pollSeconds", 10.0)
        name = spec.text("baseUrl")

        async def run(feed: Feed) -> None:
            last: bytes | None = None
            while True:
                copy = await fetch_copy(self.http, spec, DEFAULT_MAX_BYTES, self.clock)
                feed.failure = None
                feed.ready.set()
                if copy.body != last:
                    last = copy.body
                    feed.publish(name, decode_payload(copy.body))
                await asyncio.sleep(interval)

        return run

    async def aclose(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data
