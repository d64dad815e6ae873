"""The flood dashboard's data: each configured feed's readings, as the participant receives
them through its own transfers, converted with the owner's mapping and placed on the station's
risk ladder.

A feed names a dataset, the mapping of its owner's format and the station files (the same
inputs as `tsunagu convert`). The watch finds the STARTED consumer transfer of each feed through
the management API, reads it through the data plane (a live stream line by line; a file again
every `refresh_seconds`), and tells every open dashboard about each new reading.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connector.console.backend import Backend
from connector.dataplane.sinks import NDJSON
from connector.dataplane.sources import Body, DataRequest
from connector.errors import ConnectorError
from vocab.errors import VocabError
from vocab.flood import convert_and_classify
from vocab.mapping import Mapping as SourceMapping
from vocab.mapping import load_mapping
from vocab.namespaces import PROPERTY
from vocab.records import Observation
from vocab.stations import Station, load_stations
from vocab.thresholds import Classification, classify_observations

log = logging.getLogger("tsunagu.console")
KEPT = 288  # two days of ten-minute readings per station
MAX_FILE_BYTES = 16 * 1024 * 1024
RAINFALL = str(PROPERTY["rainfall"])  # -10min, -1h, -24h, -accumulated


@dataclass(frozen=True)
class Feed:
    dataset: str
    mapping: Path
    stations: tuple[Path, ...]

    @classmethod
    def parse(cls, entry: Mapping[str, Any], base: Path) -> Feed:
        try:
            stations = entry["stations"]
            files = [stations] if isinstance(stations, str) else list(stations)
            return cls(
                str(entry["dataset"]),
                (base / str(entry["mapping"])).resolve(),
                tuple((base / str(f)).resolve() for f in files),
            )
        except (KeyError, TypeError) as exc:
            raise ConnectorError(
                f"[[dashboard.feeds]] needs dataset, mapping and stations: missing {exc}",
                code="dashboard_feed_invalid",
            ) from None


@dataclass(frozen=True)
class Reading:
    station: str
    time: str
    value: float
    rank: int  # the ladder step reached, 0 below every threshold (平常)
    level: str | None  # that step's IRI
    alert: int | None  # 警戒レベル, where the step has one
    kind: str  # "water" or "rain"

    def json(self) -> dict[str, Any]:
        return {
            "station": self.station,
            "time": self.time,
            "value": self.value,
            "rank": self.rank,
            "level": self.level,
            "alert": self.alert,
            "kind": self.kind,
        }


def _reading(c: Classification) -> Reading:
    alert = c.alert_level
    return Reading(
        c.station.iri,
        c.observation.result_time,
        c.observation.value,
        c.level.rank if c.level else 0,
        c.level.iri if c.level else None,
        alert.level if alert else None,
        "water",
    )


class RiverWatch:
    def __init__(
        self,
        backend: Backend,
        open_data: Callable[[str, DataRequest], Awaitable[Body]],
        feeds: list[Feed],
        *,
        refresh_seconds: float = 30.0,
    ) -> None:
        self.backend = backend
        self.open_data = open_data
        self.feeds = feeds
        self.refresh_seconds = refresh_seconds
        self.stations: dict[str, Station] = {}
        self._mappings: dict[str, SourceMapping] = {}
        self.water: dict[str, deque[Reading]] = {}
        self.rain: dict[str, deque[Reading]] = {}
        self._listeners: set[asyncio.Queue[Reading]] = set()
        self._readers: dict[str, asyncio.Task[None]] = {}
        self._task: asyncio.Task[None] | None = None
        self.problems: dict[str, str] = {}
        self.following: set[str] = set()  # transfers whose data stream is open right now

    def load(self) -> None:
        """Read the feeds' mappings and stations: a wrong file is the operator's to fix now."""
        for feed in self.feeds:
            try:
                self._mappings[feed.dataset] = load_mapping(feed.mapping)
                self.stations.update(load_stations(list(feed.stations)))
            except (VocabError, OSError) as exc:
                raise ConnectorError(
                    f"dashboard feed {feed.dataset}: {exc}", code="dashboard_feed_invalid"
                ) from exc

    # -- what the pages read ------------------------------------------------------------------

    def latest(self) -> dict[str, Reading]:
        return {iri: series[-1] for iri, series in self.water.items() if series}

    def latest_rain(self) -> dict[str, Reading]:
        return {iri: series[-1] for iri, series in self.rain.items() if series}

    @contextlib.asynccontextmanager
    async def listen(self) -> AsyncIterator[asyncio.Queue[Reading]]:
        queue: asyncio.Queue[Reading] = asyncio.Queue(maxsize=1000)
        self._listeners.add(queue)
        try:
            yield queue
        finally:
            self._listeners.discard(queue)

    # -- taking readings in -------------------------------------------------------------------

    def take(self, records: list[Observation]) -> int:
        """Keep new readings and tell the dashboards; a reading seen before is skipped."""
        fresh = 0
        for c in classify_observations(records, self.stations):
            fresh += self._keep(self.water, _reading(c))
        for record in records:
            if record.observed_property.startswith(RAINFALL):
                station = self._station_of(record)
                reading = Reading(station, record.result_time, record.value, 0, None, None, "rain")
                fresh += self._keep(self.rain, reading)
        return fresh

    def _station_of(self, record: Observation) -> str:
        return record.feature_of_interest

    def _keep(self, store: dict[str, deque[Reading]], reading: Reading) -> int:
        series = store.setdefault(reading.station, deque(maxlen=KEPT))
        if any(r.time == reading.time for r in series):
            return 0
        series.append(reading)
        ordered = sorted(series, key=lambda r: r.time)
        series.clear()
        series.extend(ordered)
        for queue in list(self._listeners):
            with contextlib.suppress(asyncio.QueueFull):  # a stuck page misses a point
                queue.put_nowait(reading)
        return 1

    def convert(self, dataset: str, text: str) -> list[Observation]:
        mapping = self._mappings[dataset]
        return convert_and_classify(io.StringIO(text), mapping, self.stations).records

    def wrap(self, dataset: str, payload: Any) -> str:
        """One live payload as a document in its owner's format, for the converter."""
        mapping = self._mappings[dataset]
        if mapping.format == "jsonl":
            return json.dumps(payload, ensure_ascii=False) + "\n"
        document: Any = [payload]
        for part in reversed(mapping.records_path):
            document = {part: document}
        return json.dumps(document, ensure_ascii=False)

    # -- running ------------------------------------------------------------------------------

    def start(self) -> None:
        if self.feeds and self._task is None:
            self._task = asyncio.create_task(self._run(), name="console river watch")

    async def aclose(self) -> None:
        tasks = [t for t in [self._task, *self._readers.values()] if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._task = None
        self._readers.clear()

    async def _run(self) -> None:
        while True:
            try:
                await self._follow_transfers()
            except ConnectorError as exc:
                log.warning("river watch: %s", exc)
            await asyncio.sleep(1.0)

    async def _follow_transfers(self) -> None:
        """A reader per STARTED transfer of a feed's dataset; a reader whose transfer ended
        finishes by itself."""
        datasets = {f.dataset for f in self.feeds}
        agreements = await self.backend.call("GET", "/management/agreements?limit=1000")
        dataset_of = {a["id"]: a["dataset_id"] for a in agreements}
        transfers = await self.backend.call(
            "GET", "/management/transfers?role=consumer&state=STARTED&limit=1000"
        )
        for transfer in transfers:
            dataset = dataset_of.get(transfer.get("agreement_id"))
            pid = transfer["id"]
            running = self._readers.get(pid)
            if dataset in datasets and (running is None or running.done()):
                self._readers[pid] = asyncio.create_task(self._read(pid, str(dataset)))

    async def _read(self, pid: str, dataset: str) -> None:
        """Read one transfer's data through the consumer side of the data plane (the library,
        not HTTP: httpx's ASGI transport cannot stream, and a request to our own port would
        hold the server open at shutdown)."""
        try:
            body = await self.open_data(pid, DataRequest(accept=NDJSON))
        except ConnectorError as exc:
            self.problems[dataset] = f"transfer {pid}: {exc.message}"
            return
        chunks = body.chunks
        try:
            if body.live:
                self.following.add(pid)  # the owner has subscribed to its source
                await self._live(dataset, chunks)
                return
            data = bytearray()
            async for chunk in chunks:
                data.extend(chunk)
                if len(data) > MAX_FILE_BYTES:
                    self.problems[dataset] = "the file is larger than the dashboard reads"
                    return
            self.take(self.convert(dataset, data.decode("utf-8", errors="replace")))
            self.problems.pop(dataset, None)
        except (ConnectorError, VocabError, ValueError, OSError) as exc:
            self.problems[dataset] = str(exc)
        finally:
            self.following.discard(pid)
            closing = getattr(chunks, "aclose", None)
            if closing is not None:
                with contextlib.suppress(Exception):  # the stream may be broken already
                    await closing()
        await asyncio.sleep(self.refresh_seconds)  # a file: the watch reads it again then

    async def _live(self, dataset: str, chunks: AsyncIterator[bytes]) -> None:
        pending = b""
        async for chunk in chunks:
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if not line.strip():
                    continue
                record = json.loads(line)
                payload = record.get("payload", record) if isinstance(record, dict) else record
                try:
                    self.take(self.convert(dataset, self.wrap(dataset, payload)))
                except VocabError as exc:
                    self.problems[dataset] = str(exc)
