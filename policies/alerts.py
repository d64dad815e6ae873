"""Which flood alert is in force where: the state the profile's `event` operand reads.

The decision point does not compute it: the owner's connector does, from its own gauge
readings classified with the MLIT thresholds (`vocab.thresholds`), and hands the decision
point an `AlertState`. `alert_state_from` is the pure half of that: from classifications to
the highest 警戒レベル per station and per basin.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Protocol

from policies.geography import Geography
from vocab.thresholds import Classification


class AlertState(Protocol):
    def alert_level(self, area: str, now: datetime) -> int | None:
        """The highest alert level in force for a basin or station IRI at `now` (0: none);
        None when this state knows nothing of the area (the constraint is then undecidable)."""
        ...


class StaticAlertState:
    """A fixed table area IRI -> level in force; areas not listed are unknown."""

    def __init__(self, levels: Mapping[str, int]) -> None:
        self._levels = dict(levels)

    def alert_level(self, area: str, now: datetime) -> int | None:
        return self._levels.get(area)


def alert_state_from(
    classifications: Iterable[Classification], geography: Geography
) -> StaticAlertState:
    """Levels from the latest classification of each station; a basin is at the highest
    level of its stations. Every station and basin of `geography` is known (level 0 when
    nothing is reported for it)."""
    latest: dict[str, Classification] = {}
    for c in classifications:
        seen = latest.get(c.station.iri)
        if seen is None or c.observation.result_time >= seen.observation.result_time:
            latest[c.station.iri] = c
    levels: dict[str, int] = {}
    for basin in geography.basins():
        levels[basin.iri] = 0
        for station in basin.stations:
            levels[station] = 0
    for station, c in latest.items():
        alert = c.alert_level
        level = 0 if alert is None else alert.level
        levels[station] = level
        owner = geography.basin_of_station(station)
        if owner is not None:
            levels[owner.iri] = max(levels[owner.iri], level)
    return StaticAlertState(levels)
