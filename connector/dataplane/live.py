"""Live readings: an MQTT topic (or a polled HTTP source) fanned out to every open stream.

One `Feed` per source holds one upstream subscription, however many consumers read it, and
hands each reading to every subscriber's bounded queue (a consumer that falls behind loses its
oldest readings, never the others' or the connector's memory). A feed with a buffer (the
dataset's accumulation mode) keeps running and remembers the latest readings.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiomqtt

from connector.clock import Clock
from connector.dataplane.errors import BackendUnavailable

log = logging.getLogger("tsunagu.dataplane")
QUEUE_SIZE = 1000
CONNECT_TIMEOUT = 5.0


@dataclass(frozen=True)
class Reading:
    seq: int
    source: str  # the MQTT topic, or the polled URL's name
    received_at: datetime
    payload: Any

    def record(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "topic": self.source,
            "receivedAt": self.received_at.isoformat(),
            "payload": self.payload,
        }

    def ndjson(self) -> bytes:
        return json.dumps(self.record(), ensure_ascii=False).encode() + b"\n"

    def sse(self) -> bytes:
        data = json.dumps(self.record(), ensure_ascii=False)
        return f"id: {self.seq}\nevent: reading\ndata: {data}\n\n".encode()


def decode_payload(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data.decode("utf-8", errors="replace")


Upstream = Callable[["Feed"], Awaitable[None]]


class Feed:
    def __init__(self, name: str, upstream: Upstream, clock: Clock, *, buffer: int = 0) -> None:
        self.name = name
        self.upstream = upstream  # runs until cancelled, calling feed.publish(...)
        self.clock = clock
        self.buffer: deque[Reading] | None = deque(maxlen=buffer) if buffer else None
        self.ready = asyncio.Event()  # set while the upstream subscription is in place
        self.failure: str | None = None
        self.failed = asyncio.Event()  # set when the upstream fails, cleared on success
        self._queues: set[asyncio.Queue[Reading]] = set()
        self._task: asyncio.Task[None] | None = None
        self._seq = 0

    @property
    def keeps_running(self) -> bool:
        return self.buffer is not None

    def publish(self, source: str, payload: Any) -> None:
        self._seq += 1
        reading = Reading(self._seq, source, self.clock(), payload)
        if self.buffer is not None:
            self.buffer.append(reading)
        for queue in self._queues:
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(reading)

    def ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self.ready.clear()
            self._task = asyncio.create_task(self._run(), name=f"feed {self.name}")

    async def _run(self) -> None:
        delay = 0.2
        while True:
            try:
                await self.upstream(self)
                delay = 0.2
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the broker or the owner's system went away: retry
                self.failure = f"{exc.__class__.__name__}: {exc}"
                self.failed.set()
                log.warning("live source %s failed: %s", self.name, self.failure)
            self.ready.clear()
            if not self._queues and not self.keeps_running:
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    async def subscribe(self) -> asyncio.Queue[Reading]:
        queue: asyncio.Queue[Reading] = asyncio.Queue(QUEUE_SIZE)
        self._queues.add(queue)
        self.ensure_running()
        self.failed.clear()
        ready = asyncio.ensure_future(self.ready.wait())
        failed = asyncio.ensure_future(self.failed.wait())
        try:
            await asyncio.wait(
                {ready, failed}, timeout=CONNECT_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
            )
        except BaseException:  # cancelled while waiting (a push cut): leave no subscriber
            self.unsubscribe(queue)
            raise
        finally:
            ready.cancel()
            failed.cancel()
        if not self.ready.is_set():
            self.unsubscribe(queue)
            raise BackendUnavailable(
                f"the live source cannot be reached ({self.failure or 'no answer'})"
            )
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Reading]) -> None:
        self._queues.discard(queue)
        if not self._queues and not self.keeps_running and self._task is not None:
            self._task.cancel()
            self._task = None

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class ReadingStream:
    """The framed readings of one subscription, until closed."""

    def __init__(
        self,
        feed: Feed,
        queue: asyncio.Queue[Reading],
        *,
        sse: bool,
        keep: Callable[[Any], bool] | None = None,
    ) -> None:
        self._feed = feed
        self._queue: asyncio.Queue[Reading] | None = queue
        self._sse = sse
        self._keep = keep  # personal data: whether a reading's payload may go out, now

    def __aiter__(self) -> ReadingStream:
        return self

    async def __anext__(self) -> bytes:
        while True:
            if self._queue is None:
                raise StopAsyncIteration
            reading = await self._queue.get()
            parts = [reading]
            while not self._queue.empty() and len(parts) < 100:  # catch up in one write
                parts.append(self._queue.get_nowait())
            if self._keep is not None:
                keep = self._keep
                parts = [r for r in parts if keep(r.payload)]
                if not parts:
                    continue
            return b"".join(r.sse() if self._sse else r.ndjson() for r in parts)

    async def aclose(self) -> None:
        queue, self._queue = self._queue, None
        if queue is not None:
            self._feed.unsubscribe(queue)


async def buffered(readings: list[Reading]) -> AsyncIterator[bytes]:
    for reading in readings:
        yield reading.ndjson()


def mqtt_upstream(
    host: str, port: int, topic: str, *, username: str | None, password: str | None, qos: int
) -> Upstream:
    async def run(feed: Feed) -> None:
        async with aiomqtt.Client(
            hostname=host, port=port, username=username, password=password, timeout=CONNECT_TIMEOUT
        ) as client:
            await client.subscribe(topic, qos=qos)
            feed.failure = None
            feed.ready.set()
            async for message in client.messages:
                raw = message.payload
                data = bytes(raw) if isinstance(raw, bytes | bytearray) else str(raw or "").encode()
                feed.publish(str(message.topic), decode_payload(data))

    return run


class Feeds:
    """Every feed of this connector, by source."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._feeds: dict[str, Feed] = {}

    def get(self, key: str, make: Callable[[], Upstream], *, buffer: int = 0) -> Feed:
        feed = self._feeds.get(key)
        if feed is None:
            feed = self._feeds[key] = Feed(key, make(), self.clock, buffer=buffer)
            if feed.keeps_running:
                feed.ensure_running()
        return feed

    async def aclose(self) -> None:
        for feed in self._feeds.values():
            await feed.aclose()
        self._feeds.clear()
