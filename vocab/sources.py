"""Reading sources: CSV, JSON and JSON Lines, as streams of value lists.

Every source is turned into rows of strings in a fixed field order, so the converter never
cares where a value came from: CSV columns by header name, JSON fields by key or dotted path
(``observation.level``). CSV rows come straight from the `csv` reader, one at a time.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from vocab.errors import MappingError
from vocab.mapping import Mapping

Source = str | Path | IO[str]
"""A file name, or an open text stream (which stays open)."""


class Rows:
    """An open source: `index` maps field names to positions in each row of `rows`."""

    def __init__(
        self,
        index: dict[str, int],
        rows: Iterator[Sequence[str]],
        handle: IO[str] | None,
        *,
        columns: int | None = None,
    ) -> None:
        self.index = index
        self.rows = rows
        self._handle = handle
        self.columns = columns
        """How many fields the header names (CSV): a row with more has an extra field."""

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> Rows:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def open_rows(source: Source, mapping: Mapping) -> Rows:
    """Open a source as the mapping describes it (format, encoding, delimiter, records path)."""
    handle = _open(source, mapping)
    owned = handle if handle is not source else None
    try:
        if mapping.format == "csv":
            return _csv_rows(handle, mapping, owned)
        return _json_rows(handle, mapping, owned)
    except BaseException:
        if owned is not None:
            owned.close()
        raise


def _open(source: Source, mapping: Mapping) -> IO[str]:
    if not isinstance(source, str | Path):
        return source
    encoding = mapping.encoding
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        encoding = "utf-8-sig"  # spreadsheets write a byte-order mark
    try:
        return open(source, encoding=encoding, newline="")
    except (OSError, LookupError) as error:
        raise MappingError(f"cannot open {source}: {error}", code="source_unreadable") from error


def _csv_rows(handle: IO[str], mapping: Mapping, owned: IO[str] | None) -> Rows:
    reader = csv.reader(handle, delimiter=mapping.delimiter)
    try:
        header = [name.strip().lstrip("\ufeff") for name in next(reader, [])]
    except UnicodeDecodeError as error:
        raise MappingError(
            f"the source is not {mapping.encoding}: {error}", code="source_encoding"
        ) from error
    missing = sorted(mapping.fields() - set(header))
    if missing:
        raise MappingError(
            f"the source lacks the fields {missing}; it has {header}", code="missing_columns"
        )
    index = {name: position for position, name in enumerate(header)}
    return Rows(index, reader, owned, columns=len(header))


def _json_rows(handle: IO[str], mapping: Mapping, owned: IO[str] | None) -> Rows:
    fields = sorted(mapping.fields())
    paths = [tuple(name.split(".")) for name in fields]

    def extract(record: object) -> list[str]:
        return [_text(_dig(record, path)) for path in paths]

    def rows() -> Iterator[Sequence[str]]:
        if mapping.format == "jsonl":
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield extract(_json(line, f"line {number}"))
            return
        data: Any = _json(handle.read(), "the source")
        for step in mapping.records_path:
            data = data.get(step) if isinstance(data, dict) else None
        if not isinstance(data, list):
            where = ".".join(mapping.records_path) or "(top level)"
            raise MappingError(
                f"source.records {where} is not a list of records", code="records_not_found"
            )
        for record in data:
            yield extract(record)

    return Rows({name: position for position, name in enumerate(fields)}, rows(), owned)


def _json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise MappingError(f"{where} is not valid JSON: {error}", code="source_invalid") from error


def _dig(record: object, path: tuple[str, ...]) -> object:
    for step in path:
        if not isinstance(record, dict):
            return None
        record = record.get(step)
    return record


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)
