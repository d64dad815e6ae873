"""Key rotations in the audit log: `tsunagu keys rotate` records each (old key, new key, who)
as a `key.rotated` entry, and the checkpoint signer asks which key the log announces for the
size it signs, so every checkpoint is signed by the key its own log says was valid then.

A rotation entry carries both public keys (raw Ed25519, base64), so an auditor matches the
key that signed a checkpoint without trusting the DID document's key ids.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from connector.store.audit_records import RECORD, record_event
from connector.store.audit_tables import AuditEntryRow
from connector.store.store import Store
from connector.store.tables import EventRow

__all__ = ["KEY_FAMILY", "ROTATED", "announced_kid", "record_rotation"]

KEY_FAMILY = "key"
ROTATED = "rotated"


def record_rotation(
    store: Store,
    *,
    did: str,
    old: tuple[str, str],
    new: tuple[str, str],
    by: str,
    at: datetime,
) -> None:
    """One `key.rotated` entry; `old` and `new` are (key id, base64 raw public key)."""
    event = record_event(
        at=at,
        family=KEY_FAMILY,
        action=ROTATED,
        subject=did,
        peer="",
        details={
            "old": old[0],
            "old_key": old[1],
            "new": new[0],
            "new_key": new[1],
            "by": by,
        },
    )
    with store.transaction() as tx:
        tx.add(event)


def announced_kid(store: Store, did: str) -> str | None:
    """The key id the log's last rotation made active (None: no rotation recorded yet)."""
    query = (
        select(AuditEntryRow.body)
        .join(EventRow, col(EventRow.seq) == col(AuditEntryRow.event_seq))
        .where(
            col(EventRow.process_id) == did,  # indexed: a DID's own records are few
            col(EventRow.process) == KEY_FAMILY,
            col(EventRow.message) == ROTATED,
            col(EventRow.direction) == RECORD,
        )
        .order_by(col(AuditEntryRow.seq).desc())
        .limit(1)
    )
    with store.transaction() as tx:
        body = tx.session.execute(query).scalars().first()
    if body is None:
        return None
    details: Any = json.loads(body).get("details", {})
    new = details.get("new") if isinstance(details, dict) else None
    return new if isinstance(new, str) else None
