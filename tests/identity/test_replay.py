"""The in-memory replay cache."""

from __future__ import annotations

from datetime import timedelta

from connector.clock import ManualClock
from connector.identity.replay import MemoryReplayCache, ReplayCache


def test_second_use_is_refused_until_expiry(clock: ManualClock) -> None:
    cache: ReplayCache = MemoryReplayCache(clock)
    until = clock() + timedelta(seconds=90)
    assert cache.remember("did:web:a.example", "j1", until)
    assert not cache.remember("did:web:a.example", "j1", until)
    clock.advance(90)  # still refused at exactly the expiry instant
    assert not cache.remember("did:web:a.example", "j1", until)


def test_jti_is_scoped_per_issuer(clock: ManualClock) -> None:
    cache = MemoryReplayCache(clock)
    until = clock() + timedelta(seconds=60)
    assert cache.remember("did:web:a.example", "j1", until)
    assert cache.remember("did:web:b.example", "j1", until)


def test_expired_entries_are_purged(clock: ManualClock) -> None:
    cache = MemoryReplayCache(clock)
    for n in range(100):
        cache.remember("did:web:a.example", f"j{n}", clock() + timedelta(seconds=60))
    assert len(cache) == 100
    clock.advance(61)
    assert cache.remember("did:web:a.example", "j0", clock() + timedelta(seconds=60))
    assert len(cache) == 1
