"""Which entries `tsunagu audit show` lists: by process, agreement, peer, kind and time."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connector.audit.entries import parse_time
from connector.audit.errors import EntryError

__all__ = ["EntryFilter"]


def _mentions(value: Any, needle: str) -> bool:
    """Whether `needle` is one of the strings anywhere in `value` (details nest)."""
    if isinstance(value, str):
        return value == needle
    if isinstance(value, dict):
        return any(_mentions(v, needle) for v in value.values())
    if isinstance(value, list):
        return any(_mentions(v, needle) for v in value)
    return False


def _aware(at: datetime | None) -> datetime | None:
    return None if at is None or at.tzinfo else at.replace(tzinfo=UTC)


@dataclass(frozen=True)
class EntryFilter:
    process: str | None = None  # our negotiation or transfer id
    agreement: str | None = None
    peer: str | None = None
    kind: str | None = None
    since: datetime | None = None  # naive: UTC
    until: datetime | None = None

    def matches(self, entry: dict[str, Any]) -> bool:
        details = entry.get("details", {})
        if self.process and self.process not in (
            entry.get("subject"),
            details.get("own_subject") if isinstance(details, dict) else None,
        ):
            return False
        if self.agreement and not (
            entry.get("subject") == self.agreement or _mentions(details, self.agreement)
        ):
            return False
        if self.peer and entry.get("peer") != self.peer:
            return False
        if self.kind and entry.get("kind") != self.kind:
            return False
        if self.since or self.until:
            try:
                at = parse_time(str(entry.get("time")))
            except EntryError:
                return False
            since, until = _aware(self.since), _aware(self.until)
            if (since and at < since) or (until and at >= until):
                return False
        return True

    def parse(self, body: str) -> dict[str, Any] | None:
        """The entry if it matches (a damaged entry never does: `verify` reports those)."""
        try:
            entry = json.loads(body)
        except ValueError:
            return None
        return entry if isinstance(entry, dict) and self.matches(entry) else None
