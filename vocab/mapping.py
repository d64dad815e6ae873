"""Declarative mapping files: how one source's rows become shared-model observations.

A mapping is a small TOML file (JSON with the same keys also works)::

    [source]
    name = "A市 河川水位テレメータ"
    format = "csv"                       # csv | json | jsonl
    encoding = "utf-8"                   # cp932 for Shift_JIS exports
    extension = "a-city-terms.ttl"       # optional local vocabulary terms

    [time]
    fields = ["観測日", "観測時刻"]  # joined with a space, read as a 和暦/ISO date-time
    timezone = "+09:00"                  # for times written without an offset
    era_boundary = "lenient"             # strict | lenient

    [station]
    field = "観測所番号"
    codes = "a-city-stations.csv"        # code,iri table; or an inline [station.codes] table

    [municipality]
    field = "団体コード"                   # or: value = "082015"

    [[observations]]
    property = "water-level"             # slug, CURIE, IRI or a local term mapped to a shared one
    field = "水位"
    unit = "cm"                          # or: unit_field = "単位"

Relative paths are read from the mapping file's directory. Every problem is reported as a
`MappingError` naming the key, before any row is read.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping as AnyMapping
from dataclasses import dataclass
from datetime import UTC, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any, Literal

from vocab.codes import StationCodeTable, normalise_municipality_code
from vocab.dates import JST
from vocab.errors import CodeError, MappingError, UnitError, VocabError
from vocab.extension import check_extension
from vocab.units import Unit
from vocab.vocabulary import (
    ObservableProperty,
    Resolution,
    Vocabulary,
    load_graph_file,
    load_vocabulary,
)

SourceFormat = Literal["csv", "json", "jsonl"]
DEFAULT_MISSING = ("", "-", "--", "---", "欠測", "欠損", "閉局", "未受信", "調整中", "nan", "NaN")
"""Values that mean "no reading": the observation is skipped with a warning, not rejected."""

_SECTIONS = {
    "source": {"name", "format", "encoding", "delimiter", "records", "extension"},
    "time": {"field", "fields", "timezone", "era_boundary"},
    "station": {"field", "codes"},
    "municipality": {"field", "value"},
    "observations": {"property", "field", "unit", "unit_field", "missing"},
}


@dataclass(frozen=True, slots=True)
class ObservationMapping:
    property: ObservableProperty
    resolution: Resolution
    field: str
    unit: Unit | None
    unit_field: str | None
    missing: frozenset[str]


@dataclass(frozen=True, slots=True)
class Mapping:
    name: str
    format: SourceFormat
    encoding: str
    delimiter: str
    records_path: tuple[str, ...]
    time_fields: tuple[str, ...]
    timezone: tzinfo
    era_strict: bool
    station_field: str
    stations: StationCodeTable
    municipality_field: str | None
    municipality_code: str | None
    observations: tuple[ObservationMapping, ...]
    vocabulary: Vocabulary
    notes: tuple[str, ...]
    """Things worth a warning found while loading, e.g. a deprecated term that was replaced."""

    def fields(self) -> set[str]:
        """Every source field the mapping reads."""
        names = {*self.time_fields, self.station_field}
        if self.municipality_field:
            names.add(self.municipality_field)
        for obs in self.observations:
            names.add(obs.field)
            if obs.unit_field:
                names.add(obs.unit_field)
        return names


def load_mapping(path: str | Path, *, vocabulary: Vocabulary | None = None) -> Mapping:
    """Read and check a mapping file (.toml, or .json with the same structure)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise MappingError(f"{path}: cannot read: {error}", code="mapping_unreadable") from error
    try:
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
        raise MappingError(f"{path}: not valid {path.suffix[1:].upper()}: {error}") from error
    return mapping_from_dict(data, base=path.parent, vocabulary=vocabulary, origin=str(path))


def mapping_from_dict(
    data: AnyMapping[str, Any],
    *,
    base: Path | None = None,
    vocabulary: Vocabulary | None = None,
    origin: str = "mapping",
) -> Mapping:
    """Build a mapping from already-parsed data; `base` resolves relative file names."""
    where = _Where(origin)
    for key in data:
        if key not in _SECTIONS:
            raise where.error(key, f"unknown section; expected one of {sorted(_SECTIONS)}")
    source = where.section(data, "source", required=False)
    time = where.section(data, "time")
    station = where.section(data, "station")
    municipality = where.section(data, "municipality", required=False)
    observations = data.get("observations")
    if not isinstance(observations, list) or not observations:
        raise where.error("observations", "needs at least one [[observations]] entry")

    notes: list[str] = []
    vocabulary = vocabulary or load_vocabulary()
    extension_name = source.get("extension")
    if extension_name is not None:
        extension_path = _relative(base, where.text(source, "extension", "source"))
        try:
            extension = load_graph_file(extension_path)
        except (OSError, VocabError) as error:
            raise where.error("source.extension", str(error)) from error
        problems = check_extension(extension, vocabulary)
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            raise where.error("source.extension", "; ".join(str(p) for p in errors))
        notes.extend(str(p) for p in problems)
        vocabulary = vocabulary.with_extension(extension)

    source_format = source.get("format", "csv")
    if source_format not in ("csv", "json", "jsonl"):
        raise where.error("source.format", f"{source_format!r}: expected csv, json or jsonl")
    records = source.get("records", "")
    if not isinstance(records, str):
        raise where.error("source.records", "must be a dotted path such as 'data.items'")

    time_fields = _fields(where, time, "time")
    boundary = time.get("era_boundary", "strict")
    if boundary not in ("strict", "lenient"):
        raise where.error("time.era_boundary", f"{boundary!r}: expected strict or lenient")

    mapping_observations = tuple(
        _observation(where, index, entry, vocabulary, notes)
        for index, entry in enumerate(observations, start=1)
    )
    return Mapping(
        name=str(source.get("name", origin)),
        format=source_format,
        encoding=str(source.get("encoding", "utf-8")),
        delimiter=str(source.get("delimiter", ",")),
        records_path=tuple(p for p in records.split(".") if p),
        time_fields=time_fields,
        timezone=_timezone(where, time.get("timezone")),
        era_strict=boundary == "strict",
        station_field=where.text(station, "field", "station"),
        stations=_stations(where, station, base),
        municipality_field=municipality.get("field"),
        municipality_code=_municipality(where, municipality),
        observations=mapping_observations,
        vocabulary=vocabulary,
        notes=tuple(notes),
    )


class _Where:
    """Names the place of a problem in the mapping file."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def error(self, key: str, problem: str) -> MappingError:
        return MappingError(f"{self.origin}: {key}: {problem}", code="mapping_invalid")

    def section(
        self, data: AnyMapping[str, Any], name: str, *, required: bool = True
    ) -> dict[str, Any]:
        value = data.get(name)
        if value is None:
            if required:
                raise self.error(name, f"missing [{name}] section")
            return {}
        if not isinstance(value, dict):
            raise self.error(name, "must be a table")
        self.known_keys(value, name, _SECTIONS[name])
        return value

    def known_keys(self, table: AnyMapping[str, Any], name: str, allowed: set[str]) -> None:
        for key in table:
            if key not in allowed:
                raise self.error(f"{name}.{key}", f"unknown key; expected one of {sorted(allowed)}")

    def text(self, table: AnyMapping[str, Any], key: str, name: str) -> str:
        value = table.get(key)
        if not isinstance(value, str) or not value:
            raise self.error(f"{name}.{key}", "must be a non-empty string")
        return value


def _fields(where: _Where, time: AnyMapping[str, Any], name: str) -> tuple[str, ...]:
    if "field" in time and "fields" in time:
        raise where.error(f"{name}.fields", "give either field or fields, not both")
    if "field" in time:
        return (where.text(time, "field", name),)
    fields = time.get("fields")
    if not isinstance(fields, list) or not fields or not all(isinstance(f, str) for f in fields):
        raise where.error(f"{name}.fields", "must be a non-empty list of field names")
    return tuple(fields)


def _timezone(where: _Where, text: object) -> tzinfo:
    if text is None:
        return JST
    if not isinstance(text, str):
        raise where.error("time.timezone", "must be an offset such as '+09:00' or 'Z'")
    if text.upper() in ("Z", "UTC"):
        return UTC
    try:
        sign = -1 if text[0] == "-" else 1
        if text[0] not in "+-":
            raise ValueError
        hours, _, minutes = text[1:].partition(":")
        return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes or 0)))
    except (ValueError, IndexError):
        raise where.error("time.timezone", f"{text!r} is not an offset like '+09:00'") from None


def _stations(where: _Where, station: AnyMapping[str, Any], base: Path | None) -> StationCodeTable:
    codes = station.get("codes")
    try:
        if isinstance(codes, str):
            return StationCodeTable.from_csv(_relative(base, codes))
        if isinstance(codes, dict) and codes:
            if not all(isinstance(v, str) for v in codes.values()):
                raise where.error("station.codes", "every code must map to an IRI string")
            return StationCodeTable({str(k): v for k, v in codes.items()}, source="station.codes")
    except (CodeError, OSError) as error:
        raise where.error("station.codes", str(error)) from error
    raise where.error("station.codes", "give a code,iri CSV file or an inline table of codes")


def _municipality(where: _Where, municipality: AnyMapping[str, Any]) -> str | None:
    value = municipality.get("value")
    if value is None:
        return None
    if "field" in municipality:
        raise where.error("municipality", "give either field or value, not both")
    try:
        return normalise_municipality_code(str(value))
    except CodeError as error:
        raise where.error("municipality.value", str(error)) from error


def _observation(
    where: _Where,
    index: int,
    entry: object,
    vocabulary: Vocabulary,
    notes: list[str],
) -> ObservationMapping:
    name = f"observations[{index}]"
    if not isinstance(entry, dict):
        raise where.error(name, "must be a table")
    where.known_keys(entry, name, _SECTIONS["observations"])
    written = where.text(entry, "property", name)
    try:
        prop, resolution = vocabulary.observable_property(written)
    except VocabError as error:
        raise where.error(f"{name}.property", str(error)) from error
    notes.extend(f"{name}.property: {note}" for note in resolution.notes)
    unit = None
    unit_field = entry.get("unit_field")
    if unit_field is not None and not isinstance(unit_field, str):
        raise where.error(f"{name}.unit_field", "must be a field name")
    if ("unit" in entry) == (unit_field is not None):
        raise where.error(name, "give exactly one of unit (fixed) or unit_field (a column)")
    if "unit" in entry:
        try:
            unit = vocabulary.units.lookup(where.text(entry, "unit", name))
            vocabulary.units.converter(
                unit, prop.canonical_unit, period_seconds=prop.accumulation_seconds
            )
        except UnitError as error:
            raise where.error(f"{name}.unit", str(error)) from error
    missing = entry.get("missing", list(DEFAULT_MISSING))
    if not isinstance(missing, list) or not all(isinstance(m, str) for m in missing):
        raise where.error(f"{name}.missing", "must be a list of strings")
    return ObservationMapping(
        property=prop,
        resolution=resolution,
        field=where.text(entry, "field", name),
        unit=unit,
        unit_field=unit_field if isinstance(unit_field, str) else None,
        missing=frozenset(missing),
    )


def _relative(base: Path | None, name: str) -> Path:
    path = Path(name)
    return path if path.is_absolute() or base is None else base / path
