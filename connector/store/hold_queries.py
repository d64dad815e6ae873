"""Reads and writes of the hold tables, inside a `Transaction` (the only place with their SQL)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlmodel import col, select

from connector.store.hold_tables import HoldRow, OfferStepsRow, ProcessRulesRow
from connector.store.store import Transaction
from connector.store.tables import TransferRow


def hold_of(tx: Transaction, process_id: str) -> HoldRow | None:
    return tx.session.get(HoldRow, process_id)


def holds_of(tx: Transaction, process_ids: Sequence[str]) -> dict[str, HoldRow]:
    """The holds of several processes in one query (a page of a listing)."""
    if not process_ids:
        return {}
    rows = tx.session.exec(select(HoldRow).where(col(HoldRow.process_id).in_(process_ids)))
    return {h.process_id: h for h in rows.all()}


def waiting(tx: Transaction, process: str, *, limit: int, offset: int) -> Sequence[HoldRow]:
    """Every step of `process` kind that waits, longest waiting first."""
    query = (
        select(HoldRow)
        .where(HoldRow.process == process)
        .order_by(col(HoldRow.since), col(HoldRow.process_id))
        .limit(limit)
        .offset(offset)
    )
    return tx.session.exec(query).all()


def put_hold(tx: Transaction, hold: HoldRow, owner: Any = None) -> None:
    """Store `hold` (replacing the one of its process). `owner`, the process's row: when it is
    new in this transaction (added, not yet written), no hold of it can be stored, so there is
    nothing to read (one round trip and an early flush less for a request held at once)."""
    if owner is not None and sa_inspect(owner).pending and not _pending_hold(tx, hold):
        tx.add(hold)
        return
    existing = hold_of(tx, hold.process_id)
    if existing is None:
        tx.add(hold)
        return
    existing.process, existing.role = hold.process, hold.role
    existing.waiting_for, existing.since, existing.detail = (
        hold.waiting_for,
        hold.since,
        hold.detail,
    )
    tx.add(existing)


def _pending_hold(tx: Transaction, hold: HoldRow) -> bool:
    return any(isinstance(o, HoldRow) and o.process_id == hold.process_id for o in tx.session.new)


def drop_hold(tx: Transaction, process_id: str) -> HoldRow | None:
    existing = hold_of(tx, process_id)
    if existing is not None:
        tx.session.delete(existing)
    return existing


def rules_of(tx: Transaction, process_id: str) -> dict[str, Any]:
    row = tx.session.get(ProcessRulesRow, process_id)
    return dict(row.rules) if row is not None else {}


def set_rules(
    tx: Transaction, process_id: str, rules: dict[str, Any], *, new_process: bool = False
) -> None:
    """`new_process`: created in this transaction, so there are no rules to replace (a merge
    would read them first, and write out the rows added so far with it)."""
    if rules and new_process:
        tx.add(ProcessRulesRow(process_id=process_id, rules=rules))
    elif rules:
        tx.session.merge(ProcessRulesRow(process_id=process_id, rules=rules))


def offer_steps(tx: Transaction, offer_id: str | None) -> dict[str, Any]:
    if offer_id is None:
        return {}
    row = tx.session.get(OfferStepsRow, offer_id)
    return dict(row.steps) if row is not None else {}


def steps_of_offers(
    tx: Transaction, offer_ids: Sequence[str] | None = None
) -> dict[str, dict[str, Any]]:
    """The steps set on each of `offer_ids` (None: every offer), in one query; an offer with
    none set is absent."""
    query = select(OfferStepsRow)
    if offer_ids is not None:
        if not offer_ids:
            return {}
        query = query.where(col(OfferStepsRow.offer_id).in_(offer_ids))
    return {r.offer_id: dict(r.steps) for r in tx.session.exec(query).all()}


def set_offer_steps(tx: Transaction, offer_id: str, steps: dict[str, Any]) -> None:
    if steps:
        tx.session.merge(OfferStepsRow(offer_id=offer_id, steps=steps))


def transfers_of_agreement(tx: Transaction, agreement_id: str) -> Sequence[TransferRow]:
    query = select(TransferRow).where(TransferRow.agreement_id == agreement_id)
    return tx.session.exec(query).all()
