"""Queries of a dataset's lifecycle: whether it is retired, what still refers to it, and
removing it with its offers, or withdrawing one offer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import col, select

from connector.errors import MessageError
from connector.store import driver
from connector.store.catalog_tables import (
    CatalogAudienceRow,
    CatalogEntryRow,
    HarvestedDatasetRow,
    HarvestedTermRow,
)
from connector.store.dataset_tables import DatasetRetirementRow
from connector.store.hold_tables import OfferStepsRow
from connector.store.new_rows import new_row
from connector.store.store import Transaction
from connector.store.tables import AgreementRow, DatasetRow, NegotiationRow, OfferRow


def retirement(tx: Transaction, dataset_id: str) -> DatasetRetirementRow | None:
    return tx.session.get(DatasetRetirementRow, dataset_id)


def retired_ids(tx: Transaction) -> set[str]:
    return set(tx.session.exec(select(DatasetRetirementRow.dataset_id)).all())


def retire(tx: Transaction, dataset_id: str, *, now: datetime, reason: str) -> bool:
    """Retire a dataset; False when it was retired already (nothing changes)."""
    if retirement(tx, dataset_id) is not None:
        return False
    tx.session.add(DatasetRetirementRow(dataset_id=dataset_id, retired_at=now, reason=reason))
    return True


def unretire(tx: Transaction, dataset_id: str) -> bool:
    row = retirement(tx, dataset_id)
    if row is None:
        return False
    tx.session.delete(row)
    return True


def references(tx: Transaction, dataset_id: str) -> dict[str, int]:
    """How many negotiations and agreements name the dataset (transfers go through these)."""
    negotiations = tx.session.exec(
        select(func.count()).where(col(NegotiationRow.dataset_id) == dataset_id)
    ).one()
    agreements = tx.session.exec(
        select(func.count()).where(col(AgreementRow.dataset_id) == dataset_id)
    ).one()
    return {"negotiations": int(negotiations), "agreements": int(agreements)}


def remove(tx: Transaction, dataset_id: str, *, own_did: str) -> None:
    """Delete a dataset with its offers, retirement and catalogue description (callers check
    `references` first). Nothing of it stays behind: a dataset added later under the same id
    starts undescribed, and our own index (if we harvested ourselves) forgets it too."""
    tx.session.execute(delete(OfferRow).where(col(OfferRow.dataset_id) == dataset_id))
    tx.session.execute(
        delete(CatalogAudienceRow).where(col(CatalogAudienceRow.dataset_id) == dataset_id)
    )
    tx.session.execute(delete(CatalogEntryRow).where(col(CatalogEntryRow.dataset_id) == dataset_id))
    indexed = select(HarvestedDatasetRow.id).where(
        col(HarvestedDatasetRow.peer_did) == own_did,
        col(HarvestedDatasetRow.dataset_id) == dataset_id,
    )
    tx.session.execute(delete(HarvestedTermRow).where(col(HarvestedTermRow.dataset).in_(indexed)))
    tx.session.execute(
        delete(HarvestedDatasetRow).where(
            col(HarvestedDatasetRow.peer_did) == own_did,
            col(HarvestedDatasetRow.dataset_id) == dataset_id,
        )
    )
    tx.session.execute(
        delete(DatasetRetirementRow).where(col(DatasetRetirementRow.dataset_id) == dataset_id)
    )
    tx.session.execute(delete(DatasetRow).where(col(DatasetRow.id) == dataset_id))


def withdraw_offer(tx: Transaction, offer_id: str, dataset_id: str) -> None:
    """Delete one offer with its steps and audience. Negotiations already under it keep their
    own copy of the policy and steps, so they run on; nobody new can ask for it."""
    tx.session.execute(delete(OfferRow).where(col(OfferRow.id) == offer_id))
    tx.session.execute(delete(OfferStepsRow).where(col(OfferStepsRow.offer_id) == offer_id))
    entry = tx.session.get(CatalogEntryRow, dataset_id)
    if entry is not None and offer_id in entry.offer_audience:
        # A new dict, so the JSON column is seen as changed.
        entry.offer_audience = {k: v for k, v in entry.offer_audience.items() if k != offer_id}
        tx.session.add(entry)


def refuse_if_retired(tx: Transaction, dataset_id: str) -> None:
    """A new negotiation for a retired dataset is refused (a 400 DSP error for a peer)."""
    row = retirement(tx, dataset_id)
    if row is not None:
        _refuse_retired(dataset_id, row.reason)


def _refuse_retired(dataset_id: str, reason: str | None) -> None:
    raise MessageError(
        f"dataset {dataset_id!r} is retired: it takes no new negotiations"
        + (f" ({reason})" if reason else ""),
        code="dataset_retired",
    )


@dataclass(frozen=True)
class RequestTerms:
    """What a new negotiation for one dataset is decided on: its offers (by id) and the steps
    each one sets (`hold_queries.offer_steps`; absent: none set)."""

    offers: Sequence[OfferRow]
    steps: dict[str, dict[str, Any]]


# Sent to the driver: through the ORM, building and loading the offers cost several times
# what SQLite takes to run the query (an initial request's profile). `_TERMS_COLUMNS` are the
# columns it reads, in order, for their types' result processing.
_TERMS_SQL = (
    "SELECT offer.id, offer.dataset_id, offer.policy, offer.requires_approval,"
    " offer.created_at, offer_steps.steps, dataset_retirement.dataset_id,"
    " dataset_retirement.reason FROM offer"
    " LEFT OUTER JOIN offer_steps ON offer_steps.offer_id = offer.id"
    " LEFT OUTER JOIN dataset_retirement ON dataset_retirement.dataset_id = offer.dataset_id"
    " WHERE offer.dataset_id = {} ORDER BY offer.id"
)
_OFFER = OfferRow.__table__.c  # type: ignore[attr-defined]
_OFFER_FIELDS = ("id", "dataset_id", "policy", "requires_approval", "created_at")
_TERMS_COLUMNS = (
    *(_OFFER[name] for name in _OFFER_FIELDS),
    OfferStepsRow.__table__.c.steps,  # type: ignore[attr-defined]
    DatasetRetirementRow.__table__.c.dataset_id,  # type: ignore[attr-defined]
    DatasetRetirementRow.__table__.c.reason,  # type: ignore[attr-defined]
)


def terms_for_new_negotiation(tx: Transaction, dataset_id: str) -> RequestTerms:
    """The dataset's offers with their steps, in one query (an initial request's reads were
    three round trips on PostgreSQL). Raises as the protocol wants: no offers -> unknown
    dataset; a retired dataset -> `refuse_if_retired`'s refusal."""
    connection = tx.session.connection()
    dialect = connection.dialect
    query = _TERMS_SQL.format(driver.MARK[dialect.paramstyle])
    found = driver.execute(connection, query, (dataset_id,))
    rows = [driver.processed(dialect, _TERMS_COLUMNS, r) for r in found]
    if not rows:
        raise MessageError(f"no dataset {dataset_id!r} on offer", code="unknown_dataset")
    if rows[0][6] is not None:
        _refuse_retired(dataset_id, rows[0][7])
    offers = [_offer(r[:5]) for r in rows]
    return RequestTerms(
        offers=offers,
        steps={o.id: dict(r[5]) for o, r in zip(offers, rows, strict=True) if r[5] is not None},
    )


def _offer(values: Sequence[Any]) -> OfferRow:
    """An offer read as the ORM would leave it once its session closed (detached, loaded)."""
    row = new_row(OfferRow, **dict(zip(_OFFER_FIELDS, values, strict=True)))
    make_transient_to_detached(row)
    return row
