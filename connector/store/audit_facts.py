"""Facts recorded beside state changes, noted as the session flushes them: agreements (with
the agreed policy and its hash), transfers and the agreement each is under, and what operators do
to datasets, offers and agreements (publish, change, remove, revoke).

`note` runs in the store's before-flush hook; `records` turns what was noted into record
events that `Transaction.seal` appends in the same transaction, so each fact and its entry
commit or roll back together.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from sqlmodel import Session

from connector.audit.entries import canonical_json
from connector.store.audit_records import record_event
from connector.store.dataplane_tables import AgreementUsageRow
from connector.store.tables import AgreementRow, EventRow, OfferRow, TransferRow

__all__ = ["note", "policy_hash", "records"]

Fact = tuple[str, Any]  # (what happened, the row)


def note(session: Session) -> None:
    """Before a flush: remember the rows whose change is a fact of its own."""
    facts: list[Fact] = session.info.setdefault("facts", [])
    for row in session.new:
        if isinstance(row, AgreementRow | TransferRow | OfferRow):
            facts.append(("new", row))
    for row in session.dirty:
        if isinstance(row, AgreementUsageRow) and row.revoked_at is not None:
            if "revoked_at" in _changed(row):
                facts.append(("revoked", row))
    for row in session.deleted:
        if isinstance(row, OfferRow):
            facts.append(("removed", row))


def _changed(row: Any) -> set[str]:
    from sqlalchemy import inspect

    state: Any = inspect(row)
    return {a.key for a in state.attrs if a.history.has_changes()}


def policy_hash(policy: object) -> str:
    """SHA-256 of the policy's RFC 8785 form: both sides of an agreement compute the same."""
    return hashlib.sha256(canonical_json(policy)).hexdigest()


def records(facts: Sequence[Fact], own_did: str | None, now: Any) -> list[EventRow]:
    seen: set[tuple[str, int]] = set()
    out = []
    for what, row in facts:
        key = (what, id(row))
        if key in seen:
            continue
        seen.add(key)
        event = _record(what, row, own_did, now)
        if event is not None:
            out.append(event)
    return out


def _record(what: str, row: Any, own_did: str | None, now: Any) -> EventRow | None:
    if isinstance(row, AgreementRow):
        peer = row.consumer_did if own_did == row.provider_did else row.provider_did
        return record_event(
            at=row.signed_at,
            family="agreement",
            action="signed",
            subject=row.id,
            peer=peer if own_did else "",
            details={
                "negotiation": row.negotiation_id,
                "dataset": row.dataset_id,
                "provider": row.provider_did,
                "consumer": row.consumer_did,
                "policy_sha256": policy_hash(row.policy),
                # the policy itself, so an auditor re-decides each access under it
                "policy": row.policy,
            },
        )
    if isinstance(row, TransferRow):
        return record_event(
            at=row.created_at,
            family="transfer",
            action="opened",
            subject=row.id,
            peer=row.counterparty_did,
            details={"agreement": row.agreement_id, "role": row.role, "format": row.format},
        )
    # A dataset's own lifecycle (published, updated, retired, removed) is written as events
    # by the management API (`api/management.py`), with what changed; not twice here.
    if isinstance(row, OfferRow):
        return record_event(
            at=now,
            family="offer",
            action="published" if what == "new" else "removed",
            subject=row.id,
            peer="",
            details={"dataset": row.dataset_id, "policy_sha256": policy_hash(row.policy)},
        )
    if isinstance(row, AgreementUsageRow):
        return record_event(
            at=row.revoked_at or now,
            family="agreement",
            action="revoked",
            subject=row.agreement_id,
            peer="",
            details={"reason": row.revoked_reason or ""},
        )
    return None
