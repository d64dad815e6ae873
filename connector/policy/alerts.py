"""The owner's flood-alert state: what the profile's `event` operand reads.

The owner's connector computes it from its own gauge readings, classified on the MLIT risk
ladder (`vocab.thresholds`) by its basin watch, and the decision point reads it at every
decision. A change of level wakes whoever listens (the policy monitor), so a transfer that
held only while an alert was in force ends when the alert is over, not at the next tick.

The levels live in memory (the watch reports them again after a restart), but every change is
audited: the connector gives the service a recorder that writes an `alert.changed` entry
(connector/policy/alert_audit.py), called before the new levels take effect and under the same
lock, so a level the decision point reads is always one the log announced; if the entry cannot
be written, the levels stay as they were.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from policies.alerts import alert_state_from
from policies.geography import Geography
from vocab.thresholds import Classification

Listener = Callable[[Mapping[str, int]], None]
Recorder = Callable[[Mapping[str, int], Mapping[str, int], str], None]
"""(changed area -> new level, the same areas' previous levels, who) -> None, or raises."""


class AlertService:
    """Alert levels per station and basin IRI, fed by the basin watch; thread-safe (the data
    plane decides on the event loop, the control plane in worker threads)."""

    def __init__(self, geography: Geography) -> None:
        self.geography = geography
        self._lock = threading.Lock()
        self._levels: dict[str, int] = {}
        for basin in geography.basins():
            self._levels[basin.iri] = 0
            self._levels.update(dict.fromkeys(basin.stations, 0))
        self._listeners: list[Listener] = []
        self.recorder: Recorder | None = None

    def use_geography(self, geography: Geography) -> None:
        """Know these basins and stations (level 0 until reported); known levels stay."""
        with self._lock:
            levels = dict(self._levels)
            for basin in geography.basins():
                levels.setdefault(basin.iri, 0)
                for station in basin.stations:
                    levels.setdefault(station, 0)
            self.geography, self._levels = geography, levels

    # -- read by the decision point ---------------------------------------------------------

    def alert_level(self, area: str, now: datetime) -> int | None:
        return self._levels.get(area)  # a dict read is atomic; writers swap whole values

    def levels(self) -> dict[str, int]:
        with self._lock:
            return dict(self._levels)

    # -- fed by the basin watch -------------------------------------------------------------

    def observe(self, classifications: Iterable[Classification]) -> dict[str, int]:
        """The latest classification of each station sets its level; a basin is at the
        highest level of its stations. Stations not in this batch keep their level.
        Returns the areas whose level changed (area -> new level)."""
        batch = list(classifications)
        state = alert_state_from(batch, self.geography)
        updates = {
            c.station.iri: state.alert_level(c.station.iri, datetime.min) or 0 for c in batch
        }
        return self._apply(updates, "basin-watch")

    def set_level(self, area: str, level: int, *, by: str = "operator") -> dict[str, int]:
        """An operator's (or another watch's) word for one station or basin."""
        if not 0 <= level <= 5:
            raise ValueError(f"alert level {level} is not 0-5")
        return self._apply({area: level}, by)

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _apply(self, updates: Mapping[str, int], by: str) -> dict[str, int]:
        with self._lock:
            levels = dict(self._levels)
            levels.update(updates)
            for basin in self.geography.basins():  # a basin follows its stations
                if basin.iri not in updates or basin.stations & updates.keys():
                    levels[basin.iri] = max(
                        (levels.get(s, 0) for s in basin.stations), default=levels[basin.iri]
                    )
            changed = {a: v for a, v in levels.items() if self._levels.get(a) != v}
            if changed and self.recorder is not None:
                self.recorder(changed, {a: self._levels.get(a, 0) for a in changed}, by)
            self._levels = levels
        if changed:
            for listener in list(self._listeners):
                listener(changed)
        return changed
