"""Replay protection: each (issuer, jti) is accepted once while its token could still be valid.

RFC 7519 §4.1.7 asks for unique `jti`s; DCP (base protocol, test R_0003) asks the verifier to
refuse a reused one. An entry only needs to live until the token it came from expires, so
the cache stays as small as the traffic of one token lifetime.
"""

from __future__ import annotations

import heapq
from datetime import datetime
from typing import Protocol

from connector.clock import Clock

__all__ = ["MemoryReplayCache", "ReplayCache"]


class ReplayCache(Protocol):
    def remember(self, issuer: str, jti: str, expires_at: datetime) -> bool:
        """Record (issuer, jti) until `expires_at`; False if it is already recorded and live."""
        ...


class MemoryReplayCache:
    """A replay cache for one process (tests, a single connector without a database)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._seen: dict[tuple[str, str], datetime] = {}
        self._expiry: list[tuple[datetime, str, str]] = []

    def __len__(self) -> int:
        return len(self._seen)

    def remember(self, issuer: str, jti: str, expires_at: datetime) -> bool:
        now = self._clock()
        self._purge(now)
        key = (issuer, jti)
        if key in self._seen:
            return False
        self._seen[key] = expires_at
        heapq.heappush(self._expiry, (expires_at, issuer, jti))
        return True

    def _purge(self, now: datetime) -> None:
        # Strictly before `now`: a token is still acceptable at exactly its expiry instant.
        while self._expiry and self._expiry[0][0] < now:
            _, issuer, jti = heapq.heappop(self._expiry)
            self._seen.pop((issuer, jti), None)
