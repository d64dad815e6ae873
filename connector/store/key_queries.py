"""Key rotations in the audit log: `tsunagu keys rotate` records each (old key, new key, who)
as a `key.rotated` entry, and the checkpoint signer asks (store.audit_log, under the head lock)
which key the log announces for the
size it signs, so every checkpoint is signed by the key its own log says was valid then.

A rotation entry carries both public keys (raw Ed25519, base64), so an auditor matches the
key that signed a checkpoint without trusting the DID document's key ids.
"""

from __future__ import annotations

from datetime import datetime

from connector.store.audit_records import KEY_FAMILY, ROTATED, record_event
from connector.store.store import Store

__all__ = ["record_rotation"]


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
