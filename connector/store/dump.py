"""A participant's database, copied out and back in (used by `connector.backup`).

SQLite: the online backup API (a consistent copy while the connector runs). PostgreSQL: a
logical dump of the connector's own tables (those in its schema, as the migrations made them)
read through SQLAlchemy as JSON lines, and loaded back into a freshly migrated schema, in
foreign-key order, with the identity sequences moved past the restored rows.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import DateTime, LargeBinary, MetaData, Table, func, select, text
from sqlalchemy.engine import Connection, make_url

from connector.errors import ConfigError
from connector.store.database import build_engine, normalise_url
from connector.store.migrate import upgrade

SKIP = {"alembic_version"}  # the restored database is migrated by the running code
# SQLite's full-text index of harvested datasets (an FTS5 table and its shadow tables) is
# derived from harvested_dataset by triggers: it is rebuilt as those rows load, and a
# PostgreSQL target indexes the table itself.
DERIVED_PREFIX = "harvested_text"


def is_sqlite(url: str) -> bool:
    return normalise_url(url).startswith("sqlite")


def sqlite_path(url: str) -> Path:
    database = make_url(normalise_url(url)).database
    if not database:
        raise ConfigError(f"{url}: not a SQLite file")
    return Path(database)


def backup_sqlite(url: str, target: Path) -> None:
    """A consistent copy of the live SQLite database at `target` (online backup API)."""
    source = sqlite3.connect(sqlite_path(url))
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
    finally:
        source.close()


def _tables(connection: Connection) -> list[Table]:
    metadata = MetaData()
    metadata.reflect(connection)
    return [
        t
        for t in metadata.sorted_tables
        if t.name not in SKIP and not t.name.startswith(DERIVED_PREFIX)
    ]


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    return value


def _decode(column: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column.type, DateTime):
        return datetime.fromisoformat(value)
    if isinstance(column.type, LargeBinary):
        return base64.b64decode(value)
    return value


def dump_tables(url: str, out: IO[str]) -> dict[str, int]:
    """Every row of every connector table as JSON lines: {"table": ..., "row": {...}}, in one
    repeatable-read transaction (a consistent snapshot on PostgreSQL). Returns rows per table."""
    engine = build_engine(url)
    counts: dict[str, int] = {}
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
            for table in _tables(connection):
                counts[table.name] = 0
                for row in _rows(connection, table):
                    encoded = {k: _encode(v) for k, v in row.items()}
                    out.write(json.dumps({"table": table.name, "row": encoded}) + "\n")
                    counts[table.name] += 1
    finally:
        engine.dispose()
    return counts


def _rows(connection: Connection, table: Table) -> Iterator[dict[str, Any]]:
    order = list(table.primary_key.columns) or list(table.columns)
    for row in connection.execute(select(table).order_by(*order)):
        yield dict(row._mapping)


def load_tables(url: str, lines: IO[str]) -> dict[str, int]:
    """Migrate the database at `url` and load a dump into it. The connector's tables must be
    empty: a restore never merges into a participant that has data of its own."""
    engine = build_engine(url)
    counts: dict[str, int] = {}
    try:
        with engine.connect() as connection:  # before migrating: is anything there already?
            for table in _tables(connection):
                if _holds_data(connection, table):
                    raise ConfigError(
                        f"the database at the restore target already has rows in "
                        f"{table.name!r}; restore into an empty database"
                    )
        upgrade(engine)
        with engine.begin() as connection:
            tables = {t.name: t for t in _tables(connection)}
            for table in reversed(list(tables.values())):
                connection.execute(table.delete())  # what the migrations seeded: the dump has it
            for line in lines:
                record = json.loads(line)
                into = tables.get(record["table"])
                if into is None:
                    raise ConfigError(f"the backup has a table {record['table']!r} unknown here")
                row = {
                    name: _decode(into.columns[name], value)
                    for name, value in record["row"].items()
                }
                connection.execute(into.insert().values(**row))
                counts[into.name] = counts.get(into.name, 0) + 1
            if connection.dialect.name == "postgresql":
                _advance_sequences(connection, list(tables.values()))
    finally:
        engine.dispose()
    return counts


# The rows the migrations seed, as they seed them: the empty audit log's head (size 0) and the
# consent version before any change (0). A database holding only these is an empty target.
_SEEDED = {"audit_head": "size", "consent_version": "value"}


def _holds_data(connection: Connection, table: Table) -> bool:
    """Rows of a participant's own, not what the migrations seed: a database that was only
    migrated (`tsunagu init` on it, say) is an empty target."""
    query = select(func.count()).select_from(table)
    if table.name in _SEEDED:
        query = query.where(table.c[_SEEDED[table.name]] != 0)
    return bool(connection.execute(query).scalar())


def _advance_sequences(connection: Connection, tables: list[Table]) -> None:
    """Rows came with their ids: the next generated id must come after them."""
    for table in tables:
        for column in table.primary_key.columns:
            sequence = connection.execute(
                text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column.name}
            ).scalar()
            if sequence:
                connection.execute(
                    text(
                        f'SELECT setval(:s, COALESCE((SELECT MAX("{column.name}") '
                        f'FROM "{table.name}"), 0) + 1, false)'
                    ),
                    {"s": sequence},
                )


def sqlite_url_of(path: Path) -> str:
    return f"sqlite:///{path}"
