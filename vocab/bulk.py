"""Bulk conversion: large sources straight to shared-model CSV at close to parsing speed.

The general path (`vocab.convert.Conversion`) builds an `Observation` and a `RowOutcome` for
every row and checks every value; at a million rows that is most of the cost. This path works
on blocks of rows, column by column: each distinct date text, station code, municipality code
and unit spelling is checked once (by the general path's own functions) and remembered as the
text it contributes to an output line, after which a clean block becomes output with a few
list comprehensions. A block holding any row that is not clean (a missing reading, an unknown
code, a date read with a warning, ...) is split in halves until the row is alone; that row then
takes the general path, which reports its issues. Both paths write the same line for the same
record (the tests hold them to it), and rows keep their order.

SHACL is sampled: rows 1, N+1, 2N+1, ... (N = `validate_every`) take the general path and wait
until their batch has been checked, so they may come later in the output than their neighbours.
``validate_every=1`` checks every row, which makes this as slow as the general path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from itertools import chain, islice
from math import isfinite
from operator import call
from typing import IO, Generic, TypeVar

from vocab.codes import normalise_municipality_code
from vocab.convert import VALIDATION_BATCH, VALIDATION_WINDOW, Conversion, RowConverter
from vocab.errors import VocabError
from vocab.mapping import Mapping
from vocab.outcomes import ConversionSummary, RowOutcome
from vocab.sources import Source, open_rows
from vocab.units import Converter
from vocab.writers import CsvWriter

_T = TypeVar("_T")

BLOCK = 256
"""Rows converted together: small enough to stay in the CPU cache, big enough to amortise."""
CACHE_LIMIT = 16_384
"""Distinct texts remembered per column before the memory is dropped and rebuilt."""


def csv_safe(text: str) -> bool:
    """True if `text` can go into a CSV line unquoted."""
    return not any(ch in text for ch in ',"\r\n')


def bulk_convert(
    source: Source,
    mapping: Mapping,
    output: IO[str],
    *,
    strict: bool = False,
    validate_every: int = 10_000,
    on_rows: Callable[[int], None] | None = None,
) -> ConversionSummary:
    """Convert `source` into shared-model CSV on `output`; returns the summary. `on_rows` is
    told how many source rows each block converted (for a progress display)."""
    if validate_every < 0:
        raise ValueError("validate_every must be 0 (off), 1 (all) or a sampling stride")
    conversion = Conversion(source, mapping, strict=strict, validate_every=validate_every)
    with open_rows(source, mapping) as opened:
        general = RowConverter(mapping, opened.index, strict=strict, columns=opened.columns)
        sink = _Sink(output, conversion)
        blocks = _Blocks(general, mapping)
        every = validate_every
        row_no = 0
        while block := list(islice(opened.rows, BLOCK)):
            first = row_no + 1
            row_no += len(block)
            start = 0
            for position in _sampled(first, row_no, every):
                offset = position - first
                _emit(blocks, sink, general, first + start, block[start:offset])
                sink.hold(general.convert(position, block[offset]))
                start = offset + 1
            _emit(blocks, sink, general, first + start, block[start:])
            if on_rows is not None:
                on_rows(len(block))
    sink.finish()
    return conversion.summary


def _sampled(first: int, last: int, every: int) -> range:
    """Row numbers in first..last whose records are validated (1, every+1, 2*every+1, ...)."""
    if every == 0:
        return range(0)
    if every == 1:
        return range(first, last + 1)
    start = first + (1 - first) % every
    return range(start, last + 1, every)


def _emit(
    blocks: _Blocks, sink: _Sink, general: RowConverter, first: int, rows: Sequence[Sequence[str]]
) -> None:
    """Convert `rows` (numbered from `first`): as one block if clean, else by halves."""
    if not rows:
        return
    text = blocks.convert(rows)
    if text is not None:
        sink.fast(text, len(rows), len(rows) * blocks.plans)
    elif len(rows) == 1:
        sink.settle(general.convert(first, rows[0]))
    else:
        half = len(rows) // 2
        _emit(blocks, sink, general, first, rows[:half])
        _emit(blocks, sink, general, first + half, rows[half:])


class _Blocks:
    """Column-wise conversion of clean blocks, with a memory of checked values as line parts."""

    def __init__(self, general: RowConverter, mapping: Mapping) -> None:
        for plan in general.plans:
            if not csv_safe(plan.observation_class + plan.property_iri + plan.unit_iri):
                raise ValueError("vocabulary IRIs with commas or quotes cannot go unquoted")
        self.general = general
        self.mapping = mapping
        self.plans = len(general.plans)
        self.time_indexes = general.time_indexes
        self.station_index = general.station_index
        self.municipality_index = general.municipality_index
        self.width = general.width
        self.dates: _Memory[tuple[str, str]] = _Memory(self._date)
        """Date text -> (basic, extended) ISO forms."""
        self.stations = [_Memory(partial(self._station, n)) for n in range(self.plans)]
        """Per plan: station code -> (line start, line middle)."""
        self.tails = [_Memory(partial(self._tail, n)) for n in range(self.plans)]
        """Per plan: municipality text -> line end (unit and code)."""
        self.units = [_Memory(partial(self._unit, n)) for n in range(self.plans)]

    def convert(self, rows: Sequence[Sequence[str]]) -> str | None:
        """The output text of `rows` if every row is clean, else None."""
        # One C-level transpose instead of a pass per field; zip stops at the shortest row, so
        # a short row shows up as too few columns.
        columns = list(zip(*rows, strict=False))
        if len(columns) < self.width:
            return None
        header = self.general.columns
        if header is not None and max(map(len, rows)) > header:
            return None  # a row with an extra field: converted (and reported) row by row
        try:
            if len(self.time_indexes) == 1:
                times: Sequence[str] = columns[self.time_indexes[0]]
            else:
                pieces = zip(*(columns[i] for i in self.time_indexes), strict=True)
                times = [" ".join(fields) for fields in pieces]
            dates = self.dates.look_up(times)
            parts = [self._plan_lines(n, columns, dates) for n in range(self.plans)]
        except (ValueError, _NotClean):
            return None
        if len(parts) == 1:
            return "".join(parts[0])
        return "".join(chain.from_iterable(zip(*parts, strict=True)))

    def _plan_lines(
        self, n: int, columns: list[tuple[str, ...]], dates: list[tuple[str, str]]
    ) -> list[str]:
        plan = self.general.plans[n]
        codes = columns[self.station_index]
        stations = self.stations[n].look_up(codes)
        if self.municipality_index is None:
            tail = self._tail(n, None)
            if tail is None:
                raise _NotClean
            tails = [tail] * len(codes)
        else:
            tails = self.tails[n].look_up(columns[self.municipality_index])
        raws = columns[plan.index]
        if not plan.missing.isdisjoint(raws):
            raise _NotClean
        if plan.fixed is not None:
            values = list(map(plan.fixed, raws))
        else:
            assert plan.unit_index is not None
            spellings = columns[plan.unit_index]
            converters = self.units[n].look_up(spellings)
            values = list(map(call, converters, raws))
        if not all(map(isfinite, values)):
            raise _NotClean
        return [
            f"{station[0]}{date[0]}{station[1]}{date[1]},{value!r}{tail}"
            for station, date, value, tail in zip(stations, dates, values, tails, strict=True)
        ]

    def _date(self, text: str) -> tuple[str, str] | None:
        return self.general.dates.iso_forms(text)

    def _station(self, n: int, code: str) -> tuple[str, str] | None:
        try:
            iri = self.general.stations.get(code) or self.mapping.stations.translate(code)
        except VocabError:
            return None
        if not csv_safe(iri):
            return None
        plan = self.general.plans[n]
        return (
            f"{iri}/{plan.slug}/",
            f",{plan.observation_class},{plan.property_iri},{iri},",
        )

    def _tail(self, n: int, raw: str | None) -> str | None:
        code = self.mapping.municipality_code or ""
        if raw is not None:
            try:
                code = normalise_municipality_code(raw)
            except VocabError:
                return None
        return f",{self.general.plans[n].unit_iri},{code}\n"

    def _unit(self, n: int, spelling: str) -> Converter | None:
        plan = self.general.plans[n]
        try:
            return plan.by_spelling.get(spelling) or plan.converter_for(spelling)
        except VocabError:
            return None


class _NotClean(Exception):
    """A block holds a row that must take the general path."""


class _Memory(Generic[_T]):
    """What a column's distinct values turned out to be, learned once each.

    `clean` maps a value to the part it contributes; `unclean` holds values that must take the
    general path (which reports why). Both are dropped when they grow past CACHE_LIMIT.
    """

    def __init__(self, learn: Callable[[str], _T | None]) -> None:
        self.learn = learn
        self.clean: dict[str, _T] = {}
        self.unclean: set[str] = set()

    def look_up(self, keys: Sequence[str]) -> list[_T]:
        """One entry per key; raises _NotClean if any key is not clean."""
        try:
            return list(map(self.clean.__getitem__, keys))  # the common case: one C-level pass
        except KeyError:
            pass
        if len(self.clean) > CACHE_LIMIT:
            self.clean.clear()
        if len(self.unclean) > CACHE_LIMIT:
            self.unclean.clear()
        for key in set(keys).difference(self.clean):
            value = None if key in self.unclean else self.learn(key)
            if value is None:
                self.unclean.add(key)
                raise _NotClean
            self.clean[key] = value
        return list(map(self.clean.__getitem__, keys))


class _Sink:
    """Writes converted rows in order and keeps the summary; holds sampled rows for SHACL."""

    def __init__(self, output: IO[str], conversion: Conversion) -> None:
        self.output = output
        self.conversion = conversion
        self.summary = conversion.summary
        self.writer = CsvWriter(output)
        self.pending: list[str] = []
        self.pending_size = 0
        self.held: list[RowOutcome] = []
        self.held_records = 0
        self.oldest = 0

    def fast(self, text: str, rows: int, records: int) -> None:
        self.summary.rows += rows
        self.summary.converted += rows
        self.summary.records += records
        self.pending.append(text)
        self.pending_size += len(text)
        if self.pending_size > 1 << 20:
            self.drain()

    def drain(self) -> None:
        if self.pending:
            self.output.write("".join(self.pending))
            self.pending.clear()
            self.pending_size = 0

    def settle(self, outcome: RowOutcome) -> None:
        """A row from the general path: count it (strict stops here) and write its records."""
        self.conversion.settle(outcome)
        if outcome.records:
            self.drain()
            self.writer.write(outcome.records)

    def hold(self, outcome: RowOutcome) -> None:
        """A sampled row: it waits until its batch has been validated."""
        if not outcome.records:
            self.settle(outcome)
            return
        if not self.held:
            self.oldest = outcome.row
        self.held.append(outcome)
        self.held_records += len(outcome.records)
        if self.held_records >= VALIDATION_BATCH or outcome.row - self.oldest >= VALIDATION_WINDOW:
            self.check()

    def check(self) -> None:
        self.conversion.check(self.held)
        held, self.held, self.held_records = self.held, [], 0
        for outcome in held:
            self.settle(outcome)

    def finish(self) -> None:
        self.drain()
        if self.held:
            self.check()
        self.drain()
