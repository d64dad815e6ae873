"""C村's flood watch in `tsunagu demo`: each neighbour's readings, converted into the shared
model with that neighbour's mapping and placed on the risk ladder of their station.

The mappings and station descriptions are the repository's examples (`examples/vocab/`, shipped
in the package as `connector/demo/examples`, a link to them in a checkout): A市's
(CSV, 和暦, centimetres) and B町's (JSON, ISO 8601, metres). Nothing here knows either format;
the mapping files do.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from pathlib import Path

from connector.errors import ConnectorError
from vocab.errors import VocabError
from vocab.flood import FloodWatchReport, convert_and_classify
from vocab.namespaces import UNIT
from vocab.stations import Station, load_stations
from vocab.thresholds import Classification

EXAMPLES = Path(__file__).resolve().with_name("examples") / "vocab"
MAPPINGS = {"a": "a-city.toml", "b": "b-town.toml"}
STATION_FILES = ("a-city-stations.ttl", "b-town-stations.ttl")
METRE = str(UNIT.M)
ISO_JST = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+09:00$")
MAX_ISSUES_SHOWN = 3


def example_file(name: str) -> Path:
    path = EXAMPLES / name
    if not path.is_file():
        raise ConnectorError(
            f"the demo reads the neighbours' mappings and stations from {EXAMPLES}, "
            f"but {name} is not there: reinstall tsunagu (the examples ship with it)",
            code="demo_examples_missing",
        )
    return path


def basin_stations() -> Mapping[str, Station]:
    """The gauging stations of A市 and B町, with their thresholds in metres."""
    files = [example_file(name) for name in STATION_FILES]
    try:
        return load_stations(files)
    except VocabError as exc:
        raise ConnectorError(f"the basin's station files: {exc}", code=exc.code) from exc


def convert(key: str, text: str, stations: Mapping[str, Station]) -> FloodWatchReport:
    """A neighbour's readings, as it sent them, in the shared model and classified. Rows that
    fail are counted in the summary; only an unusable mapping stops the conversion."""
    mapping = example_file(MAPPINGS[key])
    try:
        return convert_and_classify(io.StringIO(text), mapping, stations)
    except VocabError as exc:
        raise ConnectorError(f"converting with {mapping.name}: {exc}", code=exc.code) from exc


def latest_by_station(report: FloodWatchReport) -> list[Classification]:
    """Each station's latest water level on its ladder, stations in the order they appear."""
    latest: dict[str, Classification] = {}
    for classification in report.classifications:
        seen = latest.get(classification.station.iri)
        if seen is None or classification.observation.result_time >= seen.observation.result_time:
            latest[classification.station.iri] = classification
    return list(latest.values())


def report_lines(report: FloodWatchReport) -> list[str]:
    """What C村 prints for one neighbour: the latest per station, the tally, the first issues."""
    lines = [c.text() for c in latest_by_station(report)]
    lines.append(report.summary.text())
    lines.extend(f"{i.severity}: {i}" for i in report.summary.issues[:MAX_ISSUES_SHOWN])
    return lines


def one_model(reports: Mapping[str, FloodWatchReport]) -> list[str]:
    """Check that every neighbour's readings are now in one model - water levels in metres,
    every time ISO 8601 with +09:00 - and say so, with the highest step reached in the basin."""
    records = [r for report in reports.values() for r in report.records]
    levels = [c.observation for report in reports.values() for c in report.classifications]
    units = {o.unit for o in levels}
    if units != {METRE}:
        raise ConnectorError(f"water levels arrived in {sorted(units)}", code="not_one_model")
    odd = sorted({r.result_time for r in records if not ISO_JST.match(r.result_time)})
    if odd:
        raise ConnectorError(f"times not in ISO 8601 +09:00: {odd[:3]}", code="not_one_model")
    counts = ", ".join(f"{len(r.classifications)} from {name}" for name, r in reports.items())
    lines = [
        f"{len(levels)} water levels ({counts}), every one in unit:M (metres); "
        f"all {len(records)} readings timed ISO 8601 +09:00"
    ]
    ranked = [r.highest for r in reports.values() if r.highest is not None]
    if ranked:
        top = max(ranked, key=lambda c: (c.level.rank if c.level else 0, c.observation.value))
        alert = top.alert_level
        advice = f" -> {alert.evacuation.label_ja}" if alert and alert.evacuation else ""
        lines.append(f"highest in the basin: {top.text()}{advice}")
    return lines
