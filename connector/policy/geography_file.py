"""The participant's `geography.toml`, read, checked and replaced as one document.

The document names the station descriptions the basins are read from, the basin of each river
and the municipalities of a basin that have no gauge of their own (connector/policy/
environment.py shows the file). Replacing it (management API, `tsunagu policy geography set`)
checks everything before anything is written: each basin is an IRI of the profile's basin
namespace (`https://w3id.org/tsunagu/id/basin/NAME`), each municipality code is a real code
(check digit verified, vocab.codes), every station file loads, and every basin ends up with
at least one municipality (from its river's stations or its members). Then the file is
replaced atomically and the decision point knows the new basins at once.

Every replacement is a `geography.replaced` audit entry carrying the SHA-256 of the new file
and of the one it replaced (null when there was none), written in the transaction of the swap:
the file is renamed into place inside it, and put back if the transaction does not commit, so
the log and the file never disagree about which document the decisions used.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import tomli_w

from connector.errors import MessageError
from connector.policy.environment import GEOGRAPHY_FILE, geography_from
from connector.store.audit_records import record_event
from connector.store.store import Store
from policies.errors import PolicyError
from policies.geography import BASIN, Geography
from policies.values import municipality_code

MAX_ENTRIES = 1000  # stations, basins or members: a geography is a handful of each


class InvalidGeography(MessageError):
    code = "invalid_geography"


@dataclass(frozen=True)
class GeographyDocument:
    stations: tuple[str, ...] = ()
    """Station description files, relative to the participant's directory (or absolute)."""
    basins: Mapping[str, str] = field(default_factory=dict)
    """River name as the stations spell it -> basin IRI."""
    members: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Basin IRI -> 5-digit municipality codes without a gauge of their own."""

    def to_json(self) -> dict[str, Any]:
        return {
            "stations": list(self.stations),
            "basins": dict(self.basins),
            "members": {k: list(v) for k, v in self.members.items()},
        }


def parse_document(data: Mapping[str, Any]) -> GeographyDocument:
    """The document from its JSON or TOML form, shapes and codes checked (not the files)."""
    unknown = sorted(set(data) - {"stations", "basins", "members"})
    if unknown:
        raise InvalidGeography(
            f"unknown key(s) {', '.join(unknown)}; use stations, basins, members"
        )
    stations = data.get("stations", [])
    basins = data.get("basins", {})
    members = data.get("members", {})
    if not isinstance(stations, list) or not all(isinstance(s, str) and s for s in stations):
        raise InvalidGeography("stations: a list of file paths")
    if not isinstance(basins, Mapping) or not all(
        isinstance(k, str) and k and isinstance(v, str) for k, v in basins.items()
    ):
        raise InvalidGeography("basins: a table of river name = basin IRI")
    if not isinstance(members, Mapping) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(c, str) for c in v)
        for k, v in members.items()
    ):
        raise InvalidGeography("members: a table of basin IRI = [municipality codes]")
    if max(len(stations), len(basins), sum(len(v) for v in members.values())) > MAX_ENTRIES:
        raise InvalidGeography(f"more than {MAX_ENTRIES} stations, basins or members")
    for river, iri in basins.items():
        _basin_iri(iri, f"basins.{river}")
    codes: dict[str, tuple[str, ...]] = {}
    for iri, listed in members.items():
        _basin_iri(iri, f"members.{iri}")
        if iri not in basins.values():
            raise InvalidGeography(f"members.{iri}: no river of basins is in this basin")
        try:
            codes[iri] = tuple(sorted({municipality_code(c) for c in listed}))
        except PolicyError as exc:
            raise InvalidGeography(f"members.{iri}: {exc}") from None
    return GeographyDocument(tuple(stations), dict(basins), codes)


def _basin_iri(iri: str, where: str) -> None:
    if not iri.startswith(str(BASIN)) or len(iri) == len(str(BASIN)) or " " in iri:
        raise InvalidGeography(f"{where}: {iri!r} is not a basin IRI ({BASIN}NAME)")


def build(directory: Path, document: GeographyDocument) -> Geography:
    """The geography the document describes, every station file read."""
    for name in document.stations:
        if not (directory / name).is_file():
            raise InvalidGeography(f"stations: no file {name!r} in {directory}")
    try:
        geography = geography_from(
            [directory / s for s in document.stations], document.basins, document.members
        )
    except Exception as exc:  # the vocabulary's or the policy library's word on the files
        raise InvalidGeography(str(exc)) from None
    empty = [b.iri for b in geography.basins() if not b.municipalities]
    if empty:
        raise InvalidGeography(
            f"basin(s) {', '.join(empty)}: no station of their river and no members"
        )
    return geography


def read_document(directory: Path) -> GeographyDocument | None:
    path = directory / GEOGRAPHY_FILE
    if not path.is_file():
        return None
    try:
        return parse_document(tomllib.loads(path.read_text()))
    except tomllib.TOMLDecodeError as exc:
        raise InvalidGeography(f"{path}: {exc}") from None


GEOGRAPHY_FAMILY = "geography"  # the audit entry's kind is `geography.replaced`
REPLACED = "replaced"


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def replace_document(
    directory: Path, document: GeographyDocument, *, store: Store, did: str, by: str, at: datetime
) -> Geography:
    """Check the document, then write it in place of the file (atomically), recorded as a
    `geography.replaced` audit entry in the same transaction."""
    geography = build(directory, document)
    data = tomli_w.dumps(document.to_json()).encode("utf-8")
    target = directory / GEOGRAPHY_FILE
    previous = target.read_bytes() if target.is_file() else None
    event = record_event(
        at=at,
        family=GEOGRAPHY_FAMILY,
        action=REPLACED,
        subject=did,
        peer="",
        details={
            "digest": digest(data),
            "previous": digest(previous) if previous is not None else None,
            "file": GEOGRAPHY_FILE,
            "by": by,
        },
    )
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".geography-", suffix=".toml")
    swapped = False
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        with store.transaction() as tx:
            tx.add(event)
            os.replace(temporary, target)
            swapped = True
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        if swapped:  # the entry was not committed: the previous document stays in force
            _restore(target, previous)
        raise
    return geography


def _restore(target: Path, previous: bytes | None) -> None:
    if previous is None:
        target.unlink(missing_ok=True)
        return
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".geography-", suffix=".toml")
    with os.fdopen(fd, "wb") as out:
        out.write(previous)
    os.replace(temporary, target)


def describe(geography: Geography | None) -> list[dict[str, Any]]:
    """What the decision point knows: each basin with its municipalities and stations."""
    if geography is None:
        return []
    return [
        {
            "iri": b.iri,
            "river": b.name,
            "municipalities": sorted(b.municipalities),
            "stations": sorted(b.stations),
        }
        for b in geography.basins()
    ]
