"""Statements sent straight to the database driver, on the session's own connection and so in
its transaction, for the hot paths where SQLAlchemy's per-statement machinery costs more than
the statement itself: parts of the audit log's append and the receipt a transition owes run on
every state change (benchmarks/audit.py).

Values go through each column type's own bind processor, so a row written here reads back
exactly as one the ORM wrote; driver errors come out as SQLAlchemy's (`IntegrityError`, ...),
which `Store.transaction` maps like any other. Statements sent by `execute` and `insert_rows`
reach SQLAlchemy's cursor events whenever something listens to them (the crash suite's kill
points, the tests' statement counts): keep the ones a test hooks elsewhere on those."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

MARK = {"qmark": "?", "format": "%s", "pyformat": "%s"}
Processor = Callable[[Any], Any] | None


@contextmanager
def cursor(session: Session) -> Iterator[Any]:
    """The DB-API cursor of the session's connection, in its transaction."""
    connection = session.connection()
    raw = connection.connection.cursor()
    try:
        yield raw
    except connection.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(
            None, None, exc, connection.dialect.loaded_dbapi.Error, dialect=connection.dialect
        ) from exc
    finally:
        raw.close()


def execute(connection: Connection, statement: str, params: tuple[Any, ...]) -> list[Any]:
    """The rows of one statement (none for a statement that returns no rows), on the
    connection and so in its transaction.

    Straight to the DB-API cursor unless something listens to the engine's cursor events:
    SQLAlchemy's execution context and result object cost more than the statement (on SQLite
    more than SQLite takes to run it; on PostgreSQL 76 µs of CPU against 20 µs for a one-row
    round trip through psycopg itself). With a listener, through SQLAlchemy's execution, which
    calls it with the same statement and parameters. A connection the driver reports lost is
    invalidated, as SQLAlchemy's execution does: the pool drops it and opens a fresh one."""
    if _watched(connection):
        result = connection.exec_driver_sql(statement, params)
        return list(result.all()) if result.returns_rows else []
    dialect = connection.dialect
    dbapi_error = dialect.loaded_dbapi.Error
    pooled = connection.connection
    raw = pooled.cursor()
    try:
        raw.execute(statement, params)
        return list(raw.fetchall()) if raw.description is not None else []
    except dbapi_error as exc:
        lost = dialect.is_disconnect(exc, pooled.dbapi_connection, raw)
        if lost:
            connection.invalidate(exc)
        raise DBAPIError.instance(
            statement, params, exc, dbapi_error, dialect=dialect, connection_invalidated=lost
        ) from exc
    finally:
        raw.close()


def _watched(connection: Connection) -> bool:
    """Whether anything listens to the cursor events (the engine's, or this connection's)."""
    dispatch = connection.dispatch
    return bool(dispatch.before_cursor_execute or dispatch.after_cursor_execute)


def insert(
    session: Session, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """INSERT `rows` (values in the order of `columns`) into `table`."""
    if not rows:
        return
    statement, processors = _plan(session.connection().dialect, table, tuple(columns))
    if any(p is not None for p in processors):
        rows = [
            tuple(v if p is None else p(v) for p, v in zip(processors, row, strict=True))
            for row in rows
        ]
    with cursor(session) as raw:
        raw.executemany(statement, rows)


@functools.lru_cache(maxsize=64)
def _plan(
    dialect: Dialect, table: Table, columns: tuple[str, ...]
) -> tuple[str, tuple[Processor, ...]]:
    mark = MARK[dialect.paramstyle]
    statement = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join(mark for _ in columns)})"
    )
    return statement, tuple(table.c[name].type.bind_processor(dialect) for name in columns)


def insert_rows(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: list[tuple[Any, ...]],
    *,
    returning: str | None = None,
    then: str | None = None,
) -> list[Any]:
    """INSERT `rows` as one multi-row statement (by `execute`, so SQLAlchemy's cursor events
    see it when something listens); with `returning`, that column's values of the rows
    written, in ascending order. PostgreSQL: `then`, a statement on those values as the table
    `written` (returning them in turn), runs in the same statement (a data-modifying WITH)."""
    if not rows:
        return []
    connection = session.connection()
    statement, processors = _plan_values(
        connection.dialect, table, tuple(columns), len(rows), returning
    )
    if then is not None:
        statement = f"WITH written AS ({statement}) {then}"
    converted = [(i, p) for i, p in enumerate(processors) if p is not None]
    values: list[Any] = []
    for row in rows:
        start = len(values)
        values += row
        for i, process in converted:
            values[start + i] = process(values[start + i])
    result = execute(connection, statement, tuple(values))
    if returning is None:
        return []
    return sorted(r[0] for r in result)


@functools.lru_cache(maxsize=256)
def _plan_values(
    dialect: Dialect, table: Table, columns: tuple[str, ...], count: int, returning: str | None
) -> tuple[str, tuple[Processor, ...]]:
    mark = MARK[dialect.paramstyle]
    row = f"({', '.join(mark for _ in columns)})"
    statement = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES {', '.join([row] * count)}"
        + (f" RETURNING {returning}" if returning else "")
    )
    # The dialect's own type: a generic JSON column is serialised by psycopg's dialect only.
    types = (table.c[name].type.dialect_impl(dialect) for name in columns)
    return statement, tuple(t.bind_processor(dialect) for t in types)


def processed(dialect: Dialect, columns: Sequence[Any], row: Sequence[Any]) -> tuple[Any, ...]:
    """A row the driver returned for `columns`, as SQLAlchemy would return it (each column
    type's result processing: JSON decoded, SQLite's datetimes and booleans read, ...)."""
    processors = _result_plan(dialect, tuple(columns))
    return tuple(
        v if p is None or v is None else p(v) for p, v in zip(processors, row, strict=True)
    )


@functools.lru_cache(maxsize=64)
def _result_plan(dialect: Dialect, columns: tuple[Any, ...]) -> tuple[Processor, ...]:
    types = (c.type.dialect_impl(dialect) for c in columns)
    return tuple(t.result_processor(dialect, None) for t in types)
