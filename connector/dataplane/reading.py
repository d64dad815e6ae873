"""Reading a dataset's source for an admitted access: files, SQL, HTTP (plain, accumulated
or live) and MQTT. Both ways data leaves the provider use it: pulls answered by the data plane
and pushes sent by `push.PushSender`; it holds the upstream clients they share.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from connector.clock import Clock
from connector.dataplane.accumulate import Snapshots
from connector.dataplane.consent_rows import Unfilterable, filtered
from connector.dataplane.errors import SourceMisconfigured
from connector.dataplane.files import open_file
from connector.dataplane.live import Feeds, ReadingStream, buffered, mqtt_upstream
from connector.dataplane.sources import Body, DataRequest, SourceSpec, parse_source
from connector.dataplane.sql import SqlEngines, open_sql
from connector.dataplane.tokens import TransferClaims
from connector.dataplane.upstream import HttpClient, open_http
from connector.store.dataplane_queries import TransferSnapshot

if TYPE_CHECKING:
    from connector.dataplane.consent import ConsentGate


@dataclass(frozen=True)
class Access:
    """An admitted request: whose, under which transfer, from which source."""

    claims: TransferClaims
    snapshot: TransferSnapshot
    admitted_at: datetime | None = None  # the instant the agreement was decided on
    # The consent version read with `snapshot` for this very access (a pull, answered at
    # once). None where it may be older than the access (a push retried later): the consent
    # gate then reads it itself.
    consent_version: int | None = None


class SourceReader:
    def __init__(self, clock: Clock) -> None:
        self.http = HttpClient()
        self.sql = SqlEngines()
        self.feeds = Feeds(clock)
        self.snapshots = Snapshots(self.http, clock)
        self.consent: ConsentGate | None = None  # set by the data plane (personal data)

    async def aclose(self) -> None:
        if self.consent is not None:
            await self.consent.aclose()
        await self.feeds.aclose()
        await self.snapshots.aclose()
        await self.http.aclose()
        self.sql.dispose()

    async def open(self, access: Access, request: DataRequest) -> Body:
        spec = parse_source(access.snapshot.data_address)
        field = access.snapshot.subject_field
        if field is not None:
            return await self._personal(access, spec, request, field)
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

    async def _personal(
        self, access: Access, spec: SourceSpec, request: DataRequest, field: str
    ) -> Body:
        """Personal data: only rows of subjects whose consent covers this access, read now
        (connector/dataplane/consent.py). Whole rows only: no byte ranges, no encodings."""
        gate = self.consent
        if gate is None:
            raise SourceMisconfigured("personal data cannot be served without consent records")
        request = replace(request, range=None, accept_encoding="identity")
        if spec.live and (spec.kind == "mqtt" or request.wants_events or request.wants_ndjson):
            live = await gate.live(access.snapshot)

            def keep(payload: Any) -> bool:
                return isinstance(payload, dict) and payload.get(field) in live

            if spec.kind == "http":
                return await self._live(self.snapshots.feed(self.feeds, spec), request, keep)
            return await self._mqtt(spec, request, keep)
        allowed = (await gate.allowed(access.snapshot, version=access.consent_version)).fixed()
        if spec.kind == "sql":
            rows = await open_sql(self.sql, spec, request, keep=(field, allowed))
            rows.headers["Cache-Control"] = "no-store"
            return rows
        if spec.kind == "file":
            body = await open_file(spec, request, chunk=FILTERED_CHUNK)
        elif spec.kind == "http" and spec.accumulate is not None and not request.subpath:
            body = await self.snapshots.read(spec, request)
        else:
            body = await open_http(self.http, spec, request)
        encoding = body.headers.get("Content-Encoding", "identity")
        if encoding != "identity" or body.status not in (200,):
            await _close(body)
            raise Unfilterable(
                f"the owner's system answered {body.status} ({encoding}); personal data is "
                "filtered from whole, unencoded bodies only"
            )
        media = body.headers.get("Content-Type", "")
        headers = {k: v for k, v in body.headers.items() if k not in _WHOLE_BODY_HEADERS}
        chunks = await filtered(body.chunks, media, field, allowed)
        return Body(chunks, headers={**headers, "Cache-Control": "no-store"})

    async def _mqtt(
        self, spec: SourceSpec, request: DataRequest, keep: Callable[[Any], bool] | None = None
    ) -> Body:
        if request.subpath or request.query:
            raise SourceMisconfigured("a live MQTT dataset takes no sub-paths or parameters")
        buffer = int((spec.accumulate or {}).get("size", 0) or 0)
        feed = self.feeds.get(mqtt_key(spec), lambda: mqtt_upstream_of(spec), buffer=buffer)
        if feed.buffer is not None and not (request.wants_events or request.wants_ndjson):
            readings = list(feed.buffer)  # accumulation: the latest readings, as a finite read
            if keep is not None:
                readings = [r for r in readings if keep(r.payload)]
            return Body(buffered(readings), headers={"Content-Type": "application/x-ndjson"})
        return await self._live(feed, request, keep)

    async def _live(
        self, feed: Any, request: DataRequest, keep: Callable[[Any], bool] | None = None
    ) -> Body:
        queue = await feed.subscribe()
        media = "text/event-stream" if request.wants_events else "application/x-ndjson"
        return Body(
            ReadingStream(feed, queue, sse=request.wants_events, keep=keep),
            headers={"Content-Type": media, "Cache-Control": "no-store"},
            live=True,
        )


# A file filtered for consent is read in larger pieces than one served as it is (files.CHUNK):
# each read is a trip to a worker thread, and each block costs, besides its bytes, a few calls
# into C (the row across its start filtered apart) and two sends. Memory stays one block and
# one row; the filter holds the event loop for a few milliseconds per block.
FILTERED_CHUNK = 4 << 20

_WHOLE_BODY_HEADERS = ("Content-Length", "Content-Range", "Accept-Ranges", "ETag")


async def _close(body: Body) -> None:
    close = getattr(body.chunks, "aclose", None)
    if close is not None:
        await close()


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
