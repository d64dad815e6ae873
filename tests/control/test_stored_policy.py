from __future__ import annotations

import copy

import pytest

from connector.policy import stored
from connector.policy.stored import stored_policy
from policies.errors import PolicyError
from policies.odrl import parse_policy

OFFER = {
    "@id": "urn:offer:1",
    "@type": "Offer",
    "permission": [{"action": "use"}],
}


def test_a_stored_policy_is_parsed_once_per_content() -> None:
    first = stored_policy(OFFER)
    assert first == parse_policy(OFFER)
    assert stored_policy(copy.deepcopy(OFFER)) is first  # same content: the same value


def test_changed_content_is_parsed_anew() -> None:
    before = stored_policy(OFFER)
    changed = {**OFFER, "permission": [{"action": "read"}]}
    after = stored_policy(changed)
    assert after is not before
    assert after == parse_policy(changed)


def test_a_bad_policy_fails_every_time() -> None:
    bad = {"@type": "Offer", "permission": [{"action": "use"}]}  # no @id
    for _ in range(2):
        with pytest.raises(PolicyError):
            stored_policy(bad)


def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stored, "CACHE_SIZE", 3)
    # empty to begin with: other tests in this process have filled it already
    monkeypatch.setattr(stored, "_cache", type(stored._cache)())
    for n in range(10):
        stored_policy({**OFFER, "@id": f"urn:offer:bound-{n}"})
    assert len(stored._cache) <= 3
