"""Who is on the other end of a protocol request, once their token has been verified."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Peer:
    did: str
    claims: dict[str, Any] = field(default_factory=dict)
    """The peer's verified membership claims (legal_name, role, municipality_code, memberships)."""
