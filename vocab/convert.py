"""Conversion into the shared model: source rows + a mapping -> observations, row by row.

Rows stream through; memory stays flat however long the source is. Each row ends in one of
three states: *converted* (records, no issue), *warned* (records, with warnings such as a date
outside its era read leniently or a missing reading skipped) or *rejected* (no records; each
error names the row, field, value and rule). A bad row never stops the others unless the
conversion is strict, which raises `ConversionAborted` at the first rejected row.

SHACL validation runs on batches of records. ``validate_every=1`` checks every record (the
default, right for the small files of daily exchange); ``validate_every=N`` checks the records
of rows 1, N+1, 2N+1, ... (a deterministic systematic sample, for bulk loads);
``validate_every=0`` turns it off. A record that fails its shape rejects its row.

Dates, units, station and municipality codes are looked up in dicts filled on first sight,
and nothing on the per-row path touches rdflib. For millions of rows use `vocab.bulk`.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from typing import IO

from rdflib import Graph

from vocab.codes import normalise_municipality_code
from vocab.date_cache import DateParser
from vocab.errors import ConversionAborted, ValueFormatError, VocabError
from vocab.mapping import Mapping, ObservationMapping
from vocab.namespaces import SOSA
from vocab.outcomes import ConversionSummary, RowIssue, RowOutcome, Severity
from vocab.records import Observation, add_to_graph
from vocab.shapes import validate_graph
from vocab.sources import Source, open_rows
from vocab.units import Converter
from vocab.writers import OutputFormat, writer_for

__all__ = [
    "Conversion",
    "ConversionSummary",
    "RowConverter",
    "RowIssue",
    "RowOutcome",
    "convert_text",
    "convert_to",
]

_INFINITIES = (float("inf"), float("-inf"))
VALIDATION_BATCH = 500
"""Records per pyshacl run: a run costs a few milliseconds plus about 0.5 ms per record."""
VALIDATION_WINDOW = 100_000
"""When sampling, a sampled row waits at most this many rows for its check."""


class RowConverter:
    """A mapping compiled for conversion: converts one row given as a list of field values.

    `field_index` says where each source field sits in the value list. Dates are parsed through
    a caching `DateParser`; station IRIs, municipality codes and unit converters are remembered
    once found, so repeated values cost a dictionary lookup. `vocab.bulk` reuses the same
    parser, tables and plans.
    """

    def __init__(
        self,
        mapping: Mapping,
        field_index: dict[str, int],
        *,
        strict: bool = False,
        columns: int | None = None,
    ) -> None:
        self.mapping = mapping
        self.strict = strict
        self.columns = columns
        """The header's field count (CSV), so an extra field in a row is reported."""
        self.dates = DateParser(strict=strict or mapping.era_strict, tz=mapping.timezone)
        self.time_indexes = tuple(field_index[f] for f in mapping.time_fields)
        self._time_name = "+".join(mapping.time_fields)
        self.station_index = field_index[mapping.station_field]
        self.stations = mapping.stations.as_dict()
        self._station_table = mapping.stations
        self.municipality_index = (
            field_index[mapping.municipality_field] if mapping.municipality_field else None
        )
        self.municipality_codes: dict[str, str] = {}
        self.plans = tuple(
            _ObservationPlan(obs, field_index, mapping) for obs in mapping.observations
        )
        self.width = 1 + max(field_index.values())

    def convert(self, row_no: int, values: Sequence[str]) -> RowOutcome:
        """Convert one row; every problem becomes an issue naming field, value and rule."""
        if len(values) < self.width:
            return self._short_row(row_no, values)
        issues: list[RowIssue] = []
        if self.columns is not None and len(values) > self.columns:
            issues.append(self._extra_fields(row_no, values))
        times = self.time_indexes
        time_text = values[times[0]] if len(times) == 1 else " ".join(values[i] for i in times)
        result_time = basic = ""
        try:
            parsed = self.dates(time_text)
        except VocabError as error:
            issues.append(_issue(row_no, self._time_name, time_text, error, "error"))
        else:
            result_time, basic = parsed.iso, parsed.basic
            for warning in parsed.warnings:
                issues.append(_issue(row_no, self._time_name, time_text, warning, "warning"))
        code = values[self.station_index]
        station = self.stations.get(code)
        if station is None:
            try:
                station = self._station_table.translate(code)
                self.stations[code] = station
            except VocabError as error:
                issues.append(_issue(row_no, self.mapping.station_field, code, error, "error"))
                station = ""
        municipality = self.mapping.municipality_code
        if self.municipality_index is not None:
            raw = values[self.municipality_index]
            municipality = self.municipality_codes.get(raw)
            if municipality is None:
                municipality = self._normalise_municipality(row_no, raw, issues)
        records: list[Observation] = []
        for plan in self.plans:
            value = plan.value(row_no, values, issues)
            if value is not None:
                records.append(
                    Observation(
                        f"{station}/{plan.slug}/{basic}",
                        plan.observation_class,
                        plan.property_iri,
                        station,
                        result_time,
                        value,
                        plan.unit_iri,
                        municipality,
                        row_no,
                    )
                )
        if any(issue.severity == "error" for issue in issues):
            return RowOutcome(row_no, [], tuple(issues), True)
        return RowOutcome(row_no, records, tuple(issues), False)

    def _normalise_municipality(self, row_no: int, raw: str, issues: list[RowIssue]) -> str | None:
        try:
            code = normalise_municipality_code(raw)
        except VocabError as error:
            issues.append(_issue(row_no, str(self.mapping.municipality_field), raw, error, "error"))
            return None
        self.municipality_codes[raw] = code
        return code

    def _extra_fields(self, row_no: int, values: Sequence[str]) -> RowIssue:
        """More fields than the header names: a value may sit in the wrong column (a comma in
        a number, a field added upstream). Reported, and in strict mode the row is refused."""
        assert self.columns is not None
        extra = values[self.columns :]
        return RowIssue(
            row_no,
            f"(field {self.columns + 1})",
            ",".join(extra)[:80],
            "extra_field",
            f"the row has {len(values)} fields; the header names {self.columns}",
            "error" if self.strict else "warning",
        )

    def _short_row(self, row_no: int, values: Sequence[str]) -> RowOutcome:
        issue = RowIssue(
            row_no,
            "(row)",
            ",".join(values)[:80],
            "missing_field",
            f"the row has {len(values)} fields; the mapping reads {self.width}",
            "error",
        )
        return RowOutcome(row_no, [], (issue,), True)


class _ObservationPlan:
    """One [[observations]] entry, ready to turn a field into a value in the canonical unit."""

    def __init__(
        self, obs: ObservationMapping, field_index: dict[str, int], mapping: Mapping
    ) -> None:
        prop = obs.property
        self.field = obs.field
        self.index = field_index[obs.field]
        self.unit_field = obs.unit_field
        self.unit_index = field_index[obs.unit_field] if obs.unit_field else None
        self.property_iri = prop.iri
        self.slug = prop.slug
        self.observation_class = prop.observation_class or str(SOSA.Observation)
        self.unit_iri = prop.canonical_unit.iri
        self.missing = obs.missing
        self._units = mapping.vocabulary.units
        self._target = prop.canonical_unit
        self._period = prop.accumulation_seconds
        self.fixed: Converter | None = None
        if obs.unit is not None:
            self.fixed = self._units.converter(obs.unit, self._target, period_seconds=self._period)
        self.by_spelling: dict[str, Converter] = {}

    def value(self, row_no: int, values: Sequence[str], issues: list[RowIssue]) -> float | None:
        """The converted value; None (with an issue) when missing or unreadable."""
        raw = values[self.index]
        if raw in self.missing or raw.strip() in self.missing:
            issues.append(
                RowIssue(
                    row_no,
                    self.field,
                    raw,
                    "missing_value",
                    f"no {self.slug} reading; observation skipped",
                    "warning",
                )
            )
            return None
        convert = self.fixed
        if convert is None:
            spelling = values[self.unit_index]  # type: ignore[index]
            convert = self.by_spelling.get(spelling)
            if convert is None:
                try:
                    convert = self.converter_for(spelling)
                except VocabError as error:
                    issues.append(_issue(row_no, str(self.unit_field), spelling, error, "error"))
                    return None
        try:
            return _number(raw, convert)
        except VocabError as error:
            issues.append(_issue(row_no, self.field, raw, error, "error"))
            return None

    def converter_for(self, spelling: str) -> Converter:
        """The converter from a unit spelling to the canonical unit (remembered)."""
        unit = self._units.lookup(spelling)
        convert = self._units.converter(unit, self._target, period_seconds=self._period)
        self.by_spelling[spelling] = convert
        return convert


def _number(text: str, convert: Converter) -> float:
    """A reading as people write it (full-width digits, thousands separators, a leading +),
    converted to the canonical unit; anything that is not a finite number is an error."""
    folded = unicodedata.normalize("NFKC", text).strip().replace(",", "")
    try:
        number = convert(folded)
    except ValueError:
        raise ValueFormatError(f"{text!r} is not a number", code="invalid_number") from None
    if number != number or number in _INFINITIES:
        raise ValueFormatError(f"{text!r} is not a finite number", code="invalid_number")
    return number


def _issue(
    row: int, field_name: str, value: str, error: VocabError, severity: Severity
) -> RowIssue:
    return RowIssue(row, field_name, value, error.code, error.message, severity)


# --- the pipeline ---------------------------------------------------------------------------


class Conversion:
    """Iterate to convert a source; `summary` is complete once iteration ends.

    >>> conversion = Conversion("a-city.csv", load_mapping("a-city.toml"))  # doctest: +SKIP
    >>> records = [r for outcome in conversion for r in outcome.records]  # doctest: +SKIP
    """

    def __init__(
        self,
        source: Source,
        mapping: Mapping,
        *,
        strict: bool = False,
        validate_every: int = 1,
        max_issues: int = 1000,
    ) -> None:
        if validate_every < 0:
            raise ValueError("validate_every must be 0 (off), 1 (all) or a sampling stride")
        self.source = source
        self.mapping = mapping
        self.strict = strict
        self.validate_every = validate_every
        self.summary = ConversionSummary(notes=list(mapping.notes), max_issues=max_issues)

    def __iter__(self) -> Iterator[RowOutcome]:
        with open_rows(self.source, self.mapping) as source:
            convert = RowConverter(
                self.mapping, source.index, strict=self.strict, columns=source.columns
            ).convert
            outcomes: Iterator[RowOutcome] = (
                convert(n, values) for n, values in enumerate(source.rows, start=1)
            )
            if self.validate_every:
                outcomes = self._validated(outcomes)
            for outcome in outcomes:
                self.settle(outcome)
                yield outcome

    def settle(self, outcome: RowOutcome) -> None:
        """Count a finished row; a strict conversion stops at the first rejected one."""
        self.summary.add(outcome)
        if self.strict and outcome.rejected:
            first = next(i for i in outcome.issues if i.severity == "error")
            raise ConversionAborted(
                f"strict conversion stopped at {first}", issues=tuple(outcome.issues)
            )

    def records(self) -> Iterator[Observation]:
        for outcome in self:
            yield from outcome.records

    def _validated(self, outcomes: Iterator[RowOutcome]) -> Iterator[RowOutcome]:
        """Hold back the rows to be checked until their batch is validated.

        With every row checked, every row waits for its batch (order is kept). With a sample,
        only the sampled rows wait (at most VALIDATION_BATCH records, or VALIDATION_WINDOW rows
        behind), the rest flow straight on: a sampled row can appear up to one window later in
        the output than its neighbours, and memory stays flat.
        """
        every = self.validate_every
        held: list[RowOutcome] = []
        sampled = 0
        oldest = 0
        for outcome in outcomes:
            if outcome.records and (every == 1 or outcome.row % every == 1):
                if not held:
                    oldest = outcome.row
                held.append(outcome)
                sampled += len(outcome.records)
            elif every == 1:
                held.append(outcome)
            else:
                yield outcome
            if held and (sampled >= VALIDATION_BATCH or outcome.row - oldest >= VALIDATION_WINDOW):
                self.check(held)
                yield from held
                held, sampled = [], 0
        self.check(held)
        yield from held

    def check(self, batch: list[RowOutcome]) -> None:
        """Validate the records of `batch` (in one pyshacl run); failing rows are rejected."""
        every = self.validate_every
        chosen = [o for o in batch if o.records and (every == 1 or o.row % every == 1)]
        if not chosen:
            return
        graph = Graph()
        by_row: dict[str, int] = {}
        for outcome in chosen:
            for record in outcome.records:
                add_to_graph(graph, record)
                by_row[record.id] = outcome.row
        self.summary.validated += len(by_row)
        position = {outcome.row: n for n, outcome in enumerate(batch)}
        for violation in validate_graph(graph):
            row = by_row.get(violation.focus)
            if row is None:
                continue
            n = position[row]
            issue = RowIssue(
                row,
                violation.field,
                violation.value or "",
                violation.rule,
                violation.message,
                "error",
            )
            batch[n] = batch[n].rejecting(issue)


def convert_to(
    source: Source,
    mapping: Mapping,
    output: IO[str],
    *,
    output_format: OutputFormat = "csv",
    strict: bool = False,
    validate_every: int = 1,
    on_outcome: Callable[[RowOutcome], None] | None = None,
) -> ConversionSummary:
    """Convert a whole source into `output`; returns the summary."""
    conversion = Conversion(source, mapping, strict=strict, validate_every=validate_every)
    writer = writer_for(output, output_format)
    write = writer.write
    for outcome in conversion:
        if outcome.records:
            write(outcome.records)
        if on_outcome is not None:
            on_outcome(outcome)
    writer.close()
    return conversion.summary


def convert_text(
    text: str,
    mapping: Mapping,
    *,
    strict: bool = False,
    validate_every: int = 1,
) -> tuple[list[Observation], ConversionSummary]:
    """Convert a small source held in memory; returns the records and the summary."""
    conversion = Conversion(
        io.StringIO(text), mapping, strict=strict, validate_every=validate_every
    )
    records = list(conversion.records())
    return records, conversion.summary
