"""Stored offers are read once per exact JSON: the same terms give the same reading, changed
terms are read anew, and terms that do not parse are refused every time."""

from __future__ import annotations

import pytest

from connector.policy.parsed import stored_policy
from policies.errors import PolicyError
from policies.odrl import parse_policy


def _offer(action: str) -> dict[str, object]:
    return {"@type": "Offer", "@id": "urn:o:cached", "permission": [{"action": action}]}


def test_the_same_terms_are_read_once_and_equal_a_fresh_reading() -> None:
    first = stored_policy(_offer("use"))
    # the same JSON, keys in another order: still the one reading
    reordered = {"permission": [{"action": "use"}], "@id": "urn:o:cached", "@type": "Offer"}
    assert stored_policy(reordered) is first
    assert first == parse_policy(_offer("use"))


def test_changed_terms_are_read_anew() -> None:
    used = stored_policy(_offer("use"))
    read = stored_policy(_offer("read"))
    assert read is not used
    assert read == parse_policy(_offer("read"))


def test_terms_that_do_not_parse_are_refused_every_time() -> None:
    broken = {"@type": "Offer", "@id": "urn:o:broken", "permission": [{"actionx": "use"}]}
    for _ in range(2):
        with pytest.raises(PolicyError):
            stored_policy(broken)
