"""Queries of policy enforcement (`connector.policy`), over `policy_tables` and the process
tables: the facts a transfer's accesses are decided on, usage so far, duties owed."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from connector.store.dataplane_tables import AgreementUsageRow
from connector.store.policy_tables import AgreementSignatureRow, DutyRow, PolicyContextRow
from connector.store.store import Store, Transaction
from connector.store.tables import AgreementRow, EventRow


def save_context(
    tx: Transaction,
    *,
    transfer_id: str,
    agreement_id: str,
    requester: dict[str, Any],
    purpose: str | None,
    now: datetime,
) -> None:
    tx.add(
        PolicyContextRow(
            transfer_id=transfer_id,
            agreement_id=agreement_id,
            requester={k: v for k, v in requester.items() if k != "did"},
            purpose=purpose,
            created_at=now,
        )
    )


def context(store: Store, transfer_id: str) -> PolicyContextRow | None:
    with store.transaction() as tx:
        return tx.session.get(PolicyContextRow, transfer_id)


def contexts(store: Store, transfer_ids: Sequence[str]) -> dict[str, PolicyContextRow]:
    """The policy contexts of several transfers, in one read (the monitor's page)."""
    if not transfer_ids:
        return {}
    query = select(PolicyContextRow).where(col(PolicyContextRow.transfer_id).in_(transfer_ids))
    with store.transaction() as tx:
        return {row.transfer_id: row for row in tx.session.exec(query).all()}


def accesses(tx: Transaction, agreement_id: str) -> tuple[int, datetime | None]:
    """Accesses counted under an agreement so far, and the last one."""
    usage = tx.session.get(AgreementUsageRow, agreement_id)
    return (0, None) if usage is None else (usage.accesses, usage.last_access_at)


def suspensions_of(store: Store, transfer_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per transfer, the detail of the suspension that holds it now (its last move to
    SUSPENDED), with who made it: "direction" outbound (we suspended it) or inbound (the peer
    did). One read for them all; a transfer never suspended is not in the answer."""
    if not transfer_ids:
        return {}
    query = (
        select(EventRow)
        .where(
            col(EventRow.process_id).in_(list(transfer_ids)),
            col(EventRow.to_state) == "SUSPENDED",
            col(EventRow.direction) != "record",
        )
        .order_by(col(EventRow.seq))
    )
    found: dict[str, dict[str, Any]] = {}
    with store.transaction() as tx:
        for event in tx.session.exec(query).all():
            if event.from_state != "SUSPENDED":  # a later one replaces an earlier one
                found[event.process_id] = {**event.detail, "direction": event.direction}
    return found


def agreements_as_consumer(store: Store, did: str) -> list[AgreementRow]:
    """The agreements `did` holds as the consumer (not revoked ones' filter: duties outlive)."""
    with store.transaction() as tx:
        query = select(AgreementRow).where(col(AgreementRow.consumer_did) == did)
        return list(tx.session.exec(query).all())


# -- duties --------------------------------------------------------------------------------------


def add_duty(
    tx: Transaction,
    *,
    agreement_id: str,
    role: str,
    action: str,
    now: datetime,
    due_at: datetime | None = None,
    detail: dict[str, Any] | None = None,
) -> DutyRow:
    row = DutyRow(
        id=secrets.token_hex(8),
        agreement_id=agreement_id,
        role=role,
        action=action,
        state="open",
        due_at=due_at,
        detail=detail or {},
        created_at=now,
    )
    tx.add(row)
    return row


def duties(
    store: Store, agreement_id: str | None = None, *, state: str | None = None
) -> list[DutyRow]:
    with store.transaction() as tx:
        query = select(DutyRow)
        if agreement_id is not None:
            query = query.where(col(DutyRow.agreement_id) == agreement_id)
        if state is not None:
            query = query.where(col(DutyRow.state) == state)
        return list(tx.session.exec(query.order_by(col(DutyRow.created_at), col(DutyRow.id))).all())


def has_duties(tx: Transaction, agreement_id: str) -> bool:
    query = select(DutyRow.id).where(col(DutyRow.agreement_id) == agreement_id).limit(1)
    return tx.session.exec(query).first() is not None


def fulfil_duty(
    tx: Transaction, duty_id: str, now: datetime, detail: dict[str, Any]
) -> DutyRow | None:
    row = tx.session.get(DutyRow, duty_id, with_for_update=True)
    if row is None:
        return None
    row.state = "fulfilled"
    row.fulfilled_at = now
    row.detail = {**row.detail, **detail}
    tx.add(row)
    return row


# -- agreement signatures -------------------------------------------------------------------------


def signatures(store: Store, agreement_id: str) -> list[AgreementSignatureRow]:
    with store.transaction() as tx:
        query = select(AgreementSignatureRow).where(
            col(AgreementSignatureRow.agreement_id) == agreement_id
        )
        return list(tx.session.exec(query).all())


def save_signature(store: Store, row: AgreementSignatureRow) -> bool:
    """Keep a signature; False when this party's is kept already (the first one stays)."""
    with store.transaction() as tx:
        if tx.session.get(AgreementSignatureRow, (row.agreement_id, row.signer_did)) is not None:
            return False
        tx.add(row)
        return True
