"""Bulk conversion: large sources straight to shared-model CSV at close to parsing speed.

The general path (`vocab.convert.Conversion`) builds an `Observation` and a `RowOutcome` for
every row. For bulk loads that is most of the cost, so this path formats the output line of a
row directly when everything the row needs is known to be clean: its date-time (parsed once per
distinct text), its station (a CSV-safe IRI from the mapping's table), its municipality code,
its unit spelling, and a plain number as reading. Every other row (warnings, errors, first
sightings of a code or unit) goes through the general path, which reports its issues and fills
the caches this path reads. Both paths write the same line for the same record; the tests hold
them to it.

SHACL is sampled: rows 1, N+1, 2N+1, ... (N = `validate_every`) take the general path and wait
until their batch has been checked, so they may come later in the output than their neighbours.
``validate_every=1`` checks every row, which makes this as slow as the general path.
"""

from __future__ import annotations

from typing import IO

from vocab.convert import (
    VALIDATION_BATCH,
    VALIDATION_WINDOW,
    Conversion,
    ConversionSummary,
    CsvWriter,
    RowConverter,
    RowOutcome,
    Source,
    read_rows,
)
from vocab.eras import ParsedDate
from vocab.errors import ConversionAborted, VocabError
from vocab.mapping import Mapping

WRITE_BATCH = 4096
"""Lines joined into one write: a write call costs as much as formatting a line."""
DATE_CACHE_SIZE = 65_536
_INFINITIES = (float("inf"), float("-inf"))


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
) -> ConversionSummary:
    """Convert `source` into shared-model CSV on `output`; returns the summary."""
    if validate_every < 0:
        raise ValueError("validate_every must be 0 (off), 1 (all) or a sampling stride")
    plans = [
        plan
        for plan in mapping.observations
        if not csv_safe(plan.property.iri + str(plan.property.observation_class))
    ]
    if plans:
        raise ValueError("vocabulary IRIs with commas or quotes cannot be written unquoted")
    conversion = Conversion(source, mapping, strict=strict, validate_every=validate_every)
    summary = conversion.summary
    index, rows = read_rows(source, mapping)
    general = RowConverter(mapping, index, strict=strict)
    writer = CsvWriter(output)
    write = output.write
    buffer: list[str] = []
    held: list[RowOutcome] = []

    def drain() -> None:
        if buffer:
            write("".join(buffer))
            buffer.clear()

    def settle(outcome: RowOutcome) -> None:
        """Count a row that took the general path and write its records in order."""
        summary.add(outcome)
        if strict and outcome.rejected:
            first = next(i for i in outcome.issues if i.severity == "error")
            raise ConversionAborted(
                f"strict conversion stopped at {first}", issues=tuple(outcome.issues)
            )
        if outcome.records:
            drain()
            writer.write(outcome.records)

    def check_held() -> None:
        conversion._check(held)
        for outcome in held:
            settle(outcome)
        held.clear()

    dates = general.clean_dates
    parse_date = general.dates

    def learn_date(text: str) -> ParsedDate:
        """A date-time not seen before: parse it; only clean ones join the fast path."""
        try:
            parsed = parse_date(text)
        except VocabError:
            raise LookupError(text) from None
        if parsed.warnings:
            raise LookupError(text)
        if len(dates) >= DATE_CACHE_SIZE:
            dates.clear()
        dates[text] = parsed
        return parsed

    # Everything the loop touches is a local name: attribute lookups cost as much as the work.
    width = general.width
    single_time = general.time_indexes[0] if len(general.time_indexes) == 1 else None
    time_indexes = general.time_indexes
    stations = {code: iri for code, iri in general.stations.items() if csv_safe(iri)}
    station_index = general.station_index
    municipality_index = general.municipality_index
    municipalities = general.municipality_codes
    constant_municipality = mapping.municipality_code or ""
    fast_plans = tuple(
        (
            plan.index,
            plan.missing,
            plan.fixed,
            plan.by_spelling,
            plan.unit_index,
            f"/{plan.slug}/",
            f",{plan.observation_class},{plan.property_iri},",
            f",{plan.unit_iri},",
        )
        for plan in general.plans
    )
    every = validate_every
    held_records = oldest = converted = records = 0
    row_no = 0
    for values in rows:
        row_no += 1
        if every and (every == 1 or row_no % every == 1):
            outcome = general.convert(row_no, values)
            if not outcome.records:
                settle(outcome)
                continue
            if not held:
                oldest = row_no
            held.append(outcome)
            held_records += len(outcome.records)
            if held_records >= VALIDATION_BATCH or row_no - oldest >= VALIDATION_WINDOW:
                check_held()
                held_records = 0
            continue
        row_start = len(buffer)
        try:
            if len(values) < width:
                raise LookupError
            if single_time is not None:
                time_text = values[single_time]
            else:
                time_text = " ".join([values[i] for i in time_indexes])
            parsed = dates.get(time_text) or learn_date(time_text)
            station = stations[values[station_index]]
            if municipality_index is None:
                municipality = constant_municipality
            else:
                municipality = municipalities[values[municipality_index]]
            for index, missing, fixed, spellings, unit_index, slug, middle, unit in fast_plans:
                raw = values[index]
                if raw in missing:
                    raise LookupError
                value = (fixed or spellings[values[unit_index]])(float(raw))  # type: ignore[index]
                if value != value or value in _INFINITIES:
                    raise LookupError
                buffer.append(
                    f"{station}{slug}{parsed.basic}{middle}{station},{parsed.iso},"
                    f"{value!r}{unit}{municipality}\n"
                )
        except (LookupError, ValueError):
            del buffer[row_start:]
            settle(general.convert(row_no, values))
            continue
        converted += 1
        if len(buffer) >= WRITE_BATCH:
            records += len(buffer)
            drain()
    records += len(buffer)
    drain()
    if held:
        check_held()
    summary.rows += converted
    summary.converted += converted
    summary.records += records
    return summary
