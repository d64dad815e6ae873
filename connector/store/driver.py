"""Statements sent straight to the database driver, on the session's own connection and so in
its transaction, for the hot paths where SQLAlchemy's per-statement machinery costs more than
the statement itself: parts of the audit log's append and the receipt a transition owes run on
every state change (benchmarks/audit.py).

Values go through each column type's own bind processor, so a row written here reads back
exactly as one the ORM wrote; driver errors come out as SQLAlchemy's (`IntegrityError`, ...),
which `Store.transaction` maps like any other. Statements sent here pass by SQLAlchemy's
events (the crash suite's kill points among them): keep the ones a test hooks elsewhere."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
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
