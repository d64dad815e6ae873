"""A read-only, parameterised SQL query against the owner's database (SQLite, PostgreSQL).

The query is the owner's, fixed in the data address; the consumer only supplies values for the
named parameters the owner listed, and they are bound, never spliced into the text. Safety does
not rest on reading the SQL: SQLite databases are opened read-only (`mode=ro`, `query_only`),
PostgreSQL runs the query in a READ ONLY transaction with a statement timeout. Rows stream out
in batches as NDJSON (or CSV when the client asks for `text/csv`).
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import logging
from collections.abc import Sequence
from typing import Any

import anyio
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, CursorResult, Engine, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlmodel import create_engine

from connector.dataplane.consent_rows import Unfilterable
from connector.dataplane.errors import BackendTimeout, BackendUnavailable, SourceMisconfigured
from connector.dataplane.sources import Body, DataRequest, SourceSpec, only_params
from connector.errors import MessageError

log = logging.getLogger("tsunagu.dataplane")
BATCH = 500


class SqlEngines:
    """Engines of owners' databases, one per URL, made on first use."""

    def __init__(self) -> None:
        self._engines: dict[str, Engine] = {}

    def engine(self, url: str) -> Engine:
        engine = self._engines.get(url)
        if engine is None:
            engine = self._engines[url] = _read_only_engine(url)
        return engine

    def dispose(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()


def _read_only_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except Exception as exc:  # ArgumentError and friends: the owner's URL is broken
        raise SourceMisconfigured(f"the SQL url cannot be parsed: {exc}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        path = parsed.database
        if not path or path == ":memory:":
            raise SourceMisconfigured("an SQLite source needs a database file")
        engine = create_engine(
            f"sqlite:///file:{path}?mode=ro&uri=true", connect_args={"check_same_thread": False}
        )

        @event.listens_for(engine, "connect")
        def _read_only(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA query_only=ON")

        return engine
    if backend in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(
            parsed.render_as_string(hide_password=False),
            pool_pre_ping=True,
            pool_size=5,
            execution_options={"postgresql_readonly": True},
        )
    raise SourceMisconfigured(f"SQL sources support SQLite and PostgreSQL, not {backend!r}")


def _bound(spec: SourceSpec, request: DataRequest) -> dict[str, Any]:
    names = spec.names("params")
    given = only_params(request.query, names)
    defaults = spec.fields.get("defaults", {})
    if not isinstance(defaults, dict):
        raise SourceMisconfigured("'defaults' in the data address must be an object")
    values: dict[str, Any] = {name: defaults.get(name) for name in names}
    for key, value in given:
        values[key] = value
    return values


class _Rows:
    """Streams one query's rows; the connection is closed when the stream is. With `keep`
    (a personal dataset: the subject column and the consenting subjects), only those rows."""

    def __init__(
        self,
        connection: Connection,
        result: CursorResult[Any],
        csv_out: bool,
        keep: tuple[str, frozenset[str]] | None = None,
    ) -> None:
        self._connection: Connection | None = connection
        self._result = result
        self._csv = csv_out
        self._keys = list(result.keys())
        self._header_sent = False
        self._keep: tuple[int, frozenset[str]] | None = None
        if keep is not None:
            field, allowed = keep
            if field not in self._keys:
                raise Unfilterable(
                    f"the personal dataset's query has no column {field!r} (columns: {self._keys})"
                )
            self._keep = (self._keys.index(field), allowed)

    def __aiter__(self) -> _Rows:
        return self

    async def __anext__(self) -> bytes:
        if self._connection is None:
            raise StopAsyncIteration
        rows = await anyio.to_thread.run_sync(self._result.fetchmany, BATCH)
        while rows and self._keep is not None:
            index, allowed = self._keep
            kept = [r for r in rows if _subject(r[index]) in allowed]
            if kept:
                rows = kept
                break
            rows = await anyio.to_thread.run_sync(self._result.fetchmany, BATCH)
        if not rows:
            await self.aclose()
            if self._csv and not self._header_sent:
                self._header_sent = True
                return _csv_lines([self._keys])
            raise StopAsyncIteration
        if self._csv:
            lines = [list(r) for r in rows]
            if not self._header_sent:
                self._header_sent = True
                lines.insert(0, self._keys)
            return _csv_lines(lines)
        return b"".join(
            json.dumps(
                dict(zip(self._keys, r, strict=True)), ensure_ascii=False, default=_plain
            ).encode()
            + b"\n"
            for r in rows
        )

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(_close, connection)


def _subject(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _close(connection: Connection) -> None:
    try:
        connection.rollback()
    finally:
        connection.close()


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return str(value)


def _csv_lines(rows: Sequence[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow([_plain(v) if not isinstance(v, str | int | float) else v for v in row])
    return out.getvalue().encode()


async def open_sql(
    engines: SqlEngines,
    spec: SourceSpec,
    request: DataRequest,
    *,
    keep: tuple[str, frozenset[str]] | None = None,
) -> Body:
    if request.subpath:
        raise MessageError("an SQL dataset has no sub-paths", code="bad_subpath")
    query = spec.text("query")
    if query.lstrip().split(None, 1)[0].lower() not in ("select", "with", "values"):
        raise SourceMisconfigured("an SQL source's query must be a SELECT")
    values = _bound(spec, request)
    timeout = spec.number("timeoutSeconds", 30.0)
    engine = engines.engine(spec.text("url"))
    csv_out = "text/csv" in request.accept
    connection, result = await anyio.to_thread.run_sync(
        _execute, engine, query, values, timeout, abandon_on_cancel=False
    )
    media = "text/csv; charset=utf-8" if csv_out else "application/x-ndjson"
    try:
        rows = _Rows(connection, result, csv_out, keep)
    except Unfilterable:
        await anyio.to_thread.run_sync(_close, connection)
        raise
    return Body(rows, headers={"Content-Type": media})


def _execute(
    engine: Engine, query: str, values: dict[str, Any], timeout: float
) -> tuple[Connection, CursorResult[Any]]:
    try:
        connection = engine.connect()
    except SQLAlchemyError as exc:
        log.warning("owner database unreachable: %s", exc)
        raise BackendUnavailable(
            f"the owner's database cannot be reached ({exc.__class__.__name__})"
        ) from exc
    try:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SET TRANSACTION READ ONLY"))
            connection.execute(text(f"SET LOCAL statement_timeout = {int(timeout * 1000)}"))
        result = connection.execution_options(stream_results=True).execute(text(query), values)
    except DBAPIError as exc:
        _close(connection)
        if "statement timeout" in str(exc.orig) or "canceling statement" in str(exc.orig):
            raise BackendTimeout(
                f"the owner's database did not answer within {timeout:g} s"
            ) from exc
        log.warning("owner database refused the query: %s", exc)
        raise BackendUnavailable(
            f"the owner's database refused the query ({exc.orig.__class__.__name__})"
        ) from exc
    except SQLAlchemyError as exc:
        _close(connection)
        raise BackendUnavailable(f"the owner's database failed ({exc.__class__.__name__})") from exc
    return connection, result
