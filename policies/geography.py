"""River basins and the municipalities in them, for the profile's `spatial` operand.

A basin is known by IRI (`https://w3id.org/tsunagu/id/basin/<river>`); what lies in it comes
from the shared vocabulary's stations (`vocab.stations.Station`): every station of the river
places its basin's municipality, taken from the station's e-Stat area IRI (or its local
government code) and verified with `vocab.codes`. Municipalities without a gauge of their
own can be added by code. Nothing here compares place names as strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from policies.errors import PolicyError
from policies.values import ESTAT_SAC, municipality_code
from vocab.stations import Station

BASIN = "https://w3id.org/tsunagu/id/basin/"


@dataclass(frozen=True)
class Basin:
    iri: str
    name: str
    municipalities: frozenset[str]
    """5-digit municipality codes."""
    stations: frozenset[str] = field(default_factory=frozenset)
    """Station IRIs."""

    def contains(self, code: str) -> bool:
        return code[:5] in self.municipalities


class Geography:
    """The basins a decision point knows, by IRI; stations lead to their basin."""

    def __init__(self, basins: Iterable[Basin] = ()) -> None:
        self._basins = {b.iri: b for b in basins}
        self._by_station = {s: b for b in self._basins.values() for s in b.stations}

    @classmethod
    def from_stations(
        cls,
        stations: Mapping[str, Station] | Iterable[Station],
        basins: Mapping[str, str],
        *,
        members: Mapping[str, Iterable[str]] | None = None,
    ) -> Geography:
        """Basins from stations: `basins` maps a river name as the stations spell it
        (`tsu:river`, e.g. 繋川) to the basin IRI; `members` adds municipality codes by basin."""
        found = stations.values() if isinstance(stations, Mapping) else stations
        codes: dict[str, set[str]] = {iri: set() for iri in basins.values()}
        at: dict[str, set[str]] = {iri: set() for iri in basins.values()}
        for station in found:
            iri = basins.get(station.river)
            if iri is None:
                continue
            codes[iri].add(station_municipality(station))
            at[iri].add(station.iri)
        for iri, extra in (members or {}).items():
            if iri not in codes:
                raise PolicyError(
                    f"no basin {iri!r} to add municipalities to", code="unknown_basin"
                )
            codes[iri].update(municipality_code(c) for c in extra)
        names = {iri: river for river, iri in basins.items()}
        return cls(Basin(i, names[i], frozenset(codes[i]), frozenset(at[i])) for i in codes)

    def basin(self, iri: str) -> Basin | None:
        return self._basins.get(iri)

    def basin_of_station(self, station: str) -> Basin | None:
        return self._by_station.get(station)

    def basins(self) -> tuple[Basin, ...]:
        return tuple(self._basins.values())


def station_municipality(station: Station) -> str:
    """The station's municipality as a verified 5-digit code."""
    if station.municipality and station.municipality.startswith(ESTAT_SAC + "C"):
        return municipality_code(station.municipality[len(ESTAT_SAC) + 1 :])
    if station.local_government_code:
        return municipality_code(station.local_government_code)
    raise PolicyError(f"station {station.iri} names no municipality", code="unknown_municipality")
