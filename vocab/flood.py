"""The flood-watch step of the basin demo: convert a neighbour's readings and classify them.

C村 receives A市's and B町's readings in their own formats; `convert_and_classify` brings each
into the shared model with its mapping and places every water-level reading on the risk ladder
of its station.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping as AnyMapping
from dataclasses import dataclass
from pathlib import Path

from vocab.convert import Conversion
from vocab.mapping import Mapping, load_mapping
from vocab.outcomes import ConversionSummary
from vocab.records import Observation
from vocab.sources import Source
from vocab.stations import Station, load_stations
from vocab.thresholds import Classification, classify_observations


@dataclass(frozen=True, slots=True)
class FloodWatchReport:
    records: list[Observation]
    classifications: list[Classification]
    summary: ConversionSummary

    @property
    def highest(self) -> Classification | None:
        """The reading highest on the ladder (latest first among equals), if any."""
        ranked = [c for c in self.classifications if c.level is not None]
        if not ranked:
            return None
        return max(
            ranked, key=lambda c: (c.level.rank if c.level else 0, c.observation.result_time)
        )


def convert_and_classify(
    source: Source,
    mapping: Mapping | str | Path,
    stations: AnyMapping[str, Station] | str | Path | Iterable[str | Path],
    *,
    strict: bool = False,
    validate_every: int = 1,
) -> FloodWatchReport:
    """Convert `source` with `mapping` and classify its water-level readings.

    `mapping` is a loaded `Mapping` or a mapping file; `stations` is a dict from
    `load_stations` or the station files themselves. Rows that fail are in the summary, never
    in the records.
    """
    if not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping)
    if not isinstance(stations, AnyMapping):
        stations = load_stations(stations)
    conversion = Conversion(source, mapping, strict=strict, validate_every=validate_every)
    records = list(conversion.records())
    classifications = list(classify_observations(records, stations))
    return FloodWatchReport(records, classifications, conversion.summary)
