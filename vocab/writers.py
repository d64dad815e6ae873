"""Writers of shared-model records: CSV (flat, full IRIs) and one streamed JSON-LD document."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import IO, Literal

from vocab.namespaces import CONTEXT_IRI
from vocab.records import CSV_COLUMNS, Observation, to_csv_row, to_jsonld

OutputFormat = Literal["csv", "jsonld"]


class CsvWriter:
    """Shared-model CSV. Lines are formatted directly; csv quoting is used only when needed."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._writer = csv.writer(stream, lineterminator="\n")
        self._writer.writerow(CSV_COLUMNS)

    def write(self, records: Iterable[Observation]) -> None:
        write = self._stream.write
        for r in records:
            line = f"{r[0]},{r[1]},{r[2]},{r[3]},{r[4]},{r[5]!r},{r[6]},{r[7] or ''}\n"
            # Seven separators and nothing to quote: the csv module would write the same line.
            if (
                line.count(",") == 7
                and '"' not in line
                and line.count("\n") == 1
                and "\r" not in line
            ):
                write(line)
            else:
                self._writer.writerow(to_csv_row(r))

    def close(self) -> None:
        pass


class JsonLdWriter:
    """Writes one JSON-LD document (``@context`` + ``@graph``) incrementally."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._first = True
        stream.write('{"@context": ' + json.dumps(CONTEXT_IRI) + ', "@graph": [\n')

    def write(self, records: Iterable[Observation]) -> None:
        for record in records:
            if not self._first:
                self._stream.write(",\n")
            self._first = False
            self._stream.write(json.dumps(to_jsonld(record, context=False), ensure_ascii=False))

    def close(self) -> None:
        self._stream.write("\n]}\n")


def writer_for(stream: IO[str], output_format: OutputFormat) -> CsvWriter | JsonLdWriter:
    if output_format == "csv":
        return CsvWriter(stream)
    if output_format == "jsonld":
        return JsonLdWriter(stream)
    raise ValueError(f"unknown output format {output_format!r}")
