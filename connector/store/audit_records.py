"""Entries that are not state changes: auditor reads, receipts received, findings.

They travel the same seam as every state change: an `EventRow` written in the transaction
that makes the thing true, which `Transaction.seal` turns into an audit entry. Such an event
is marked `direction = "record"`; its entry's `kind` is `<family>.<action>` (for example
`audit.read`, `audit.receipt`, `audit.finding`) instead of `<process>.transition`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from connector.store.tables import EventRow

__all__ = ["RECORD", "record_event"]

RECORD = "record"  # EventRow.direction of an event that records something other than a transition


# A key rotation's record (store.key_queries): family and action, so `key.rotated`.
KEY_FAMILY = "key"
ROTATED = "rotated"


def record_event(
    *,
    at: datetime,
    family: str,
    action: str,
    subject: str,
    peer: str,
    details: Mapping[str, Any],
) -> EventRow:
    """The event (add it to the transaction that makes it true) for one recorded fact."""
    return EventRow(
        at=at,
        process=family,
        process_id=subject,
        role="",
        direction=RECORD,
        message=action,
        from_state=None,
        to_state="",
        peer_did=peer,
        detail=dict(details),
    )
