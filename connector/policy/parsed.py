"""Stored policies, read once: every protocol message compares the consumer's terms with the
dataset's offers, and reading an offer's ODRL again each time cost more than the database work.

Keyed by the stored JSON itself (canonically serialised), so an offer that changes is read anew
the first time its new JSON is seen and nothing stale can answer. `Policy` is immutable, so one
parsed value can be shared by every caller and thread.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from policies.odrl import Policy, parse_policy

_SIZE = 1024  # distinct stored policies remembered (offers are few; agreements are not cached)
_parsed: OrderedDict[str, Policy] = OrderedDict()
_lock = threading.Lock()  # services run in worker threads on PostgreSQL


def stored_policy(data: Mapping[str, Any]) -> Policy:
    """`parse_policy(data)`, from memory when these exact terms were read before. A policy
    that does not parse raises as `parse_policy` does, and is not remembered."""
    key = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    with _lock:
        policy = _parsed.get(key)
        if policy is not None:
            _parsed.move_to_end(key)
            return policy
    policy = parse_policy(data)
    with _lock:
        _parsed[key] = policy
        if len(_parsed) > _SIZE:
            _parsed.popitem(last=False)
    return policy
