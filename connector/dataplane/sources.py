"""Data sources: where a dataset's bytes come from, described by its private data address.

A dataset's `data_address` (set with `POST /management/datasets`, never shown to peers) names
one kind of source; `docs/dataplane.md` documents every field. Parsing is strict: a data
address with an unknown type or field is refused when it is used, with a message for the owner.

    {"type": "file", "path": "/srv/data/levels.csv"}            one file (Range works)
    {"type": "file", "path": "/srv/data/levels/"}               a directory: sub-paths are files
    {"type": "http", "baseUrl": "https://gw.example/api", "headers": {...secret...},
     "allowPaths": ["stations/*"], "allowQuery": ["from", "to"]}
    {"type": "sql", "url": "sqlite:////srv/obs.db",
     "query": "SELECT * FROM levels WHERE station = :station", "params": ["station"]}
    {"type": "mqtt", "host": "127.0.0.1", "port": 1883, "topic": "basin/a/+/level"}

`http` and `mqtt` sources may add `"accumulate": {...}` (see `accumulate.py`); the catalogue
then says the dataset is served from the connector's buffer (`serving_mode`). A file or a SQL
query is always read directly, so `accumulate` is refused there rather than silently ignored.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from catalog.model import ACCUMULATED, DIRECT
from connector.dataplane.errors import BadDataRequest, SourceMisconfigured

SourceKind = Literal["file", "http", "sql", "mqtt"]
_ALIASES = {"HttpData": "http", "HTTP": "http", "File": "file", "SQL": "sql", "MQTT": "mqtt"}
_COMMON = {"type", "contentType", "description"}
_FIELDS: Mapping[str, set[str]] = {
    "file": {"path"},
    "http": {
        "baseUrl",
        "headers",
        "query",
        "allowPaths",
        "allowQuery",
        "timeoutSeconds",
        "live",
        "accumulate",
    },
    "sql": {"url", "query", "params", "defaults", "timeoutSeconds"},
    "mqtt": {"host", "port", "topic", "username", "password", "qos", "accumulate"},
}
_SEGMENT = re.compile(r"[^\x00-\x1f\x7f\\]+")


@dataclass(frozen=True)
class DataRequest:
    """What the consumer asked for, already stripped of its credentials."""

    subpath: str = ""
    query: Sequence[tuple[str, str]] = ()
    range: str | None = None
    accept: str = "*/*"
    accept_encoding: str = ""

    @property
    def wants_events(self) -> bool:
        return "text/event-stream" in self.accept

    @property
    def wants_ndjson(self) -> bool:
        return "application/x-ndjson" in self.accept or "application/jsonl" in self.accept


@dataclass
class Body:
    """A response to stream: status, headers to pass through, and the chunks."""

    chunks: AsyncIterator[bytes]
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    live: bool = False  # a non-finite stream of readings (NDJSON or SSE)


@dataclass(frozen=True)
class SourceSpec:
    kind: SourceKind
    fields: Mapping[str, Any]

    @property
    def accumulate(self) -> Mapping[str, Any] | None:
        value = self.fields.get("accumulate")
        return value if isinstance(value, Mapping) else None

    @property
    def live(self) -> bool:
        """Whether the source can be read as a non-finite stream of readings."""
        return self.kind == "mqtt" or (self.kind == "http" and "live" in self.fields)

    def text(self, name: str, *, required: bool = True) -> str:
        value = self.fields.get(name)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not value:
            raise SourceMisconfigured(
                f"the dataset's {self.kind} data address needs a string {name!r}"
            )
        return value

    def names(self, name: str) -> tuple[str, ...]:
        value = self.fields.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SourceMisconfigured(f"{name!r} in the data address must be a list of strings")
        return tuple(value)

    def mapping(self, name: str) -> dict[str, str]:
        value = self.fields.get(name, {})
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise SourceMisconfigured(f"{name!r} in the data address must map strings to strings")
        return dict(value)

    def number(self, name: str, default: float) -> float:
        value = self.fields.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise SourceMisconfigured(f"{name!r} in the data address must be a positive number")
        return float(value)


def parse_source(address: Mapping[str, Any] | None) -> SourceSpec:
    """The source a dataset's data address describes (SourceMisconfigured when it is unusable)."""
    if not address:
        raise SourceMisconfigured("the dataset has no data address; its owner must set one")
    raw_kind = address.get("type")
    kind = _ALIASES.get(str(raw_kind), str(raw_kind))
    if kind not in _FIELDS:
        raise SourceMisconfigured(
            f"data address type {raw_kind!r} is unknown; use one of {', '.join(_FIELDS)}"
        )
    unknown = set(address) - _FIELDS[kind] - _COMMON
    if unknown:
        raise SourceMisconfigured(
            f"the {kind} data address has unknown fields {sorted(unknown)}; "
            f"allowed: {sorted(_FIELDS[kind] | _COMMON)}"
        )
    return SourceSpec(kind, dict(address))  # type: ignore[arg-type]


def serving_mode(address: Mapping[str, Any] | None) -> str:
    """What the catalogue says about a dataset with this data address (the address itself is
    never shown): `ACCUMULATED` when reads are answered from the connector's buffer."""
    try:
        spec = parse_source(address)
    except SourceMisconfigured:
        return DIRECT  # nothing is buffered for an address that cannot be used
    settings = spec.accumulate
    if settings is None:
        return DIRECT
    if spec.kind == "mqtt" and not settings.get("size"):
        return DIRECT  # no buffer is kept without a size (see DataPlane._mqtt)
    return ACCUMULATED


def clean_subpath(subpath: str) -> str:
    """A sub-path made of plain segments: no `..`, `.`, empty segments or control characters."""
    if not subpath:
        return ""
    segments = subpath.split("/")
    for segment in segments:
        if segment in ("", ".", "..") or not _SEGMENT.fullmatch(segment):
            raise BadDataRequest(f"the sub-path {subpath!r} is not allowed", code="bad_subpath")
    return "/".join(segments)


def only_params(query: Sequence[tuple[str, str]], allowed: Sequence[str]) -> list[tuple[str, str]]:
    """The consumer's query parameters, refusing any the dataset does not allow."""
    refused = sorted({k for k, _ in query if k not in allowed})
    if refused:
        shown = ", ".join(allowed) if allowed else "none"
        raise BadDataRequest(
            f"query parameters {refused} are not allowed for this dataset (allowed: {shown})",
            code="query_not_allowed",
        )
    return list(query)
