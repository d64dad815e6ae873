"""Stored policies, parsed once per content: offers and negotiation terms are read from the
database as JSON on every protocol message, and parsing one costs far more than a lookup.

The key is the JSON text itself (in its stored key order), so a changed offer is parsed anew
and a result always belongs to exactly the content it was parsed from. `Policy` is immutable,
so one parsed value is safely shared by every caller. Errors are not remembered: a policy
that fails to parse raises again every time.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from policies.odrl import Policy, parse_policy

__all__ = ["CACHE_SIZE", "stored_policy"]

CACHE_SIZE = 4096
"""Distinct policies kept; the least recently used goes first (a bound, not a working set)."""

_cache: OrderedDict[str, Policy] = OrderedDict()
_lock = threading.Lock()  # API worker threads and the event loop both read offers


def stored_policy(data: Mapping[str, Any]) -> Policy:
    """`parse_policy(data)` for a policy from our own database, memoised by its content."""
    key = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    with _lock:
        policy = _cache.get(key)
        if policy is not None:
            _cache.move_to_end(key)
            return policy
    policy = parse_policy(data)
    with _lock:
        _cache[key] = policy
        if len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return policy
