"""What the owner's decision point knows beyond a request: the basins and their municipalities
(from the shared vocabulary's station descriptions) and the live flood-alert state.

A participant describes its basins in `geography.toml` in its directory:

    stations = ["stations/a-city.ttl", "stations/b-town.ttl"]   # relative to the directory
    [basins]                      # river name as the stations spell it -> basin IRI
    "繋川" = "https://w3id.org/tsunagu/id/basin/tsunagu-river"
    [members]                     # municipalities of a basin without a gauge of their own
    "https://w3id.org/tsunagu/id/basin/tsunagu-river" = ["204323"]

Without the file the connector knows no basin: a policy naming one is undecidable (refused).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from connector.errors import ConfigError
from connector.policy.access import DecisionAccessPolicy
from connector.policy.alerts import AlertService
from policies.decision import DecisionPoint
from policies.errors import PolicyError
from policies.geography import Geography
from vocab.errors import VocabError
from vocab.stations import load_stations

GEOGRAPHY_FILE = "geography.toml"


def geography_from(
    station_files: Iterable[Path],
    basins: Mapping[str, str],
    members: Mapping[str, Iterable[str]] | None = None,
) -> Geography:
    try:
        stations = load_stations(list(station_files))
        return Geography.from_stations(stations, basins, members=members)
    except (VocabError, PolicyError) as exc:
        raise ConfigError(f"the basins' geography: {exc}", code="invalid_geography") from exc


def load_geography(directory: Path) -> Geography | None:
    path = directory / GEOGRAPHY_FILE
    if not path.is_file():
        return None
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text())
        files = [directory / str(f) for f in data.get("stations", [])]
        basins = {str(k): str(v) for k, v in dict(data.get("basins", {})).items()}
        members = {str(k): [str(c) for c in v] for k, v in dict(data.get("members", {})).items()}
    except (tomllib.TOMLDecodeError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}", code="invalid_geography") from None
    return geography_from(files, basins, members)


class PolicyEnvironment:
    """The owner's decision point with its geography and alert state, built once per
    connector (composition root) and shared by negotiation, transfers and the data plane."""

    def __init__(self, geography: Geography | None) -> None:
        self.geography = geography
        self.alerts = AlertService(geography or Geography())
        self.pdp = DecisionPoint(geography=geography, alerts=self.alerts)
        self.access: DecisionAccessPolicy | None = None  # the data plane's hook (app.py)

    def use_geography(self, geography: Geography) -> None:
        """Know these basins from now on (the demo sets its basin up after start-up)."""
        self.geography = geography
        self.alerts.use_geography(geography)
        self.pdp.reconfigure(geography=geography, alerts=self.alerts)
