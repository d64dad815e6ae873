"""Reading a dataset's source for an admitted access: files, SQL, HTTP (plain, accumulated
or live) and MQTT. Both ways data leaves the provider use it: pulls answered by the data plane
and pushes sent by `push.PushSender`; it holds the upstream clients they share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connector.clock import Clock
from connector.dataplane.accumulate import Snapshots
from connector.dataplane.errors import SourceMisconfigured
from connector.dataplane.files import open_file
from connector.dataplane.live import Feeds, ReadingStream, buffered, mqtt_upstream
from connector.dataplane.sources import Body, DataRequest, SourceSpec, parse_source
from connector.dataplane.sql import SqlEngines, open_sql
from connector.dataplane.tokens import TransferClaims
from connector.dataplane.upstream import HttpClient, open_http
from connector.store.dataplane_queries import TransferSnapshot


@dataclass(frozen=True)
class Access:
    """An admitted request: whose, under which transfer, from which source."""

    claims: TransferClaims
    snapshot: TransferSnapshot


class SourceReader:
    def __init__(self, clock: Clock) -> None:
        self.http = HttpClient()
        self.sql = SqlEngines()
        self.feeds = Feeds(clock)
        self.snapshots = Snapshots(self.http, clock)

    async def aclose(self) -> None:
        await self.feeds.aclose()
        await self.snapshots.aclose()
        await self.http.aclose()
        self.sql.dispose()

    async def open(self, access: Access, request: DataRequest) -> Body:
        spec = parse_source(access.snapshot.data_address)
        if spec.kind == "file":
            return await open_file(spec, request)
        if spec.kind == "sql":
            return await open_sql(self.sql, spec, request)
        if spec.kind == "http":
            if "live" in spec.fields and (request.wants_events or request.wants_ndjson):
                return await self._live(self.snapshots.feed(self.feeds, spec), request)
            if spec.accumulate is not None and not request.subpath and not request.query:
                return await self.snapshots.read(spec, request)
            return await open_http(self.http, spec, request)
        return await self._mqtt(spec, request)

    async def _mqtt(self, spec: SourceSpec, request: DataRequest) -> Body:
        if request.subpath or request.query:
            raise SourceMisconfigured("a live MQTT dataset takes no sub-paths or parameters")
        buffer = int((spec.accumulate or {}).get("size", 0) or 0)
        feed = self.feeds.get(mqtt_key(spec), lambda: mqtt_upstream_of(spec), buffer=buffer)
        if feed.buffer is not None and not (request.wants_events or request.wants_ndjson):
            readings = list(feed.buffer)  # accumulation: the latest readings, as a finite read
            return Body(buffered(readings), headers={"Content-Type": "application/x-ndjson"})
        return await self._live(feed, request)

    async def _live(self, feed: Any, request: DataRequest) -> Body:
        queue = await feed.subscribe()
        media = "text/event-stream" if request.wants_events else "application/x-ndjson"
        return Body(
            ReadingStream(feed, queue, sse=request.wants_events),
            headers={"Content-Type": media, "Cache-Control": "no-store"},
            live=True,
        )


def mqtt_key(spec: SourceSpec) -> str:
    f = spec.fields
    return (
        f"mqtt://{f.get('username') or ''}@{f.get('host')}:{f.get('port', 1883)}/{f.get('topic')}"
    )


def mqtt_upstream_of(spec: SourceSpec) -> Any:
    port = spec.fields.get("port", 1883)
    qos = spec.fields.get("qos", 0)
    if not isinstance(port, int) or not isinstance(qos, int) or qos not in (0, 1, 2):
        raise SourceMisconfigured("an MQTT source's port and qos must be integers (qos 0-2)")
    return mqtt_upstream(
        spec.text("host"),
        port,
        spec.text("topic"),
        username=spec.fields.get("username"),
        password=spec.fields.get("password"),
        qos=qos,
    )
