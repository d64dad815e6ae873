"""The catalogue's SQL: the page of our datasets a requester may see, the descriptions we
publish, and the harvested catalogues with their index.

Every read here is a fixed number of statements whatever the catalogue holds: a page is one
query for its datasets (joined with their descriptions, visibility decided in SQL) and one for
their offers; a search is one query for its page and one to count (capped) its hits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    and_,
    column,
    delete,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    table,
    text,
    update,
)
from sqlalchemy.orm import Session
from sqlmodel import SQLModel, col

from connector.store.catalog_tables import (
    CatalogAudienceRow,
    CatalogEntryRow,
    HarvestedDatasetRow,
    HarvestedTermRow,
    HarvestPeerRow,
)
from connector.store.dataset_tables import DatasetRetirementRow
from connector.store.tables import DatasetRow, EventRow, OfferRow

_DATASETS = SQLModel.metadata.tables[HarvestedDatasetRow.__tablename__]
_TERMS = SQLModel.metadata.tables[HarvestedTermRow.__tablename__]


# -- what we publish ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryMeta:
    """What serving needs of a description before its (cached) body."""

    updated_at: datetime
    offer_audience: dict[str, Any]


def visible_datasets(
    session: Session,
    memberships: Sequence[str] | None,
    *,
    offset: int = 0,
    limit: int | None = None,
    dataset_id: str | None = None,
    retired: bool = False,
) -> list[tuple[DatasetRow, EntryMeta | None]]:
    """Our datasets on offer (with at least one offer) that a requester with `memberships`
    may see, with when their descriptions changed, in id order. `memberships=None`: the
    operator, all. `retired`: retired datasets too (the operator editing their text).
    Description bodies are read by `descriptions`, for cache misses only."""
    query = (
        select(
            DatasetRow,
            col(CatalogEntryRow.updated_at),
            col(CatalogEntryRow.offer_audience),
        )
        .join(
            CatalogEntryRow,
            col(CatalogEntryRow.dataset_id) == col(DatasetRow.id),
            isouter=True,
        )
        .where(exists().where(col(OfferRow.dataset_id) == col(DatasetRow.id)))
        .order_by(col(DatasetRow.id))
    )
    if not retired:
        # a retired dataset is off the catalogue: no new negotiations (agreements go on)
        query = query.where(
            ~exists().where(col(DatasetRetirementRow.dataset_id) == col(DatasetRow.id))
        )
    if memberships is not None:
        member = select(col(CatalogAudienceRow.dataset_id)).where(
            col(CatalogAudienceRow.membership).in_(list(memberships))
        )
        query = query.where(
            or_(
                col(CatalogEntryRow.restricted).is_(None),
                col(CatalogEntryRow.restricted).is_(False),
                col(DatasetRow.id).in_(member),
            )
        )
    if dataset_id is not None:
        query = query.where(col(DatasetRow.id) == dataset_id)
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [
        (row[0], None if row[1] is None else EntryMeta(row[1], row[2] or {}))
        for row in session.execute(query).all()
    ]


def descriptions(session: Session, dataset_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The stored descriptions of these datasets, in one query."""
    if not dataset_ids:
        return {}
    query = select(col(CatalogEntryRow.dataset_id), col(CatalogEntryRow.description)).where(
        col(CatalogEntryRow.dataset_id).in_(list(dataset_ids))
    )
    return {r[0]: r[1] for r in session.execute(query).all()}


def offers_of(session: Session, dataset_ids: Sequence[str]) -> list[OfferRow]:
    if not dataset_ids:
        return []
    query = (
        select(OfferRow)
        .where(col(OfferRow.dataset_id).in_(list(dataset_ids)))
        .order_by(col(OfferRow.dataset_id), col(OfferRow.id))
    )
    return list(session.execute(query).scalars().all())


def entry(session: Session, dataset_id: str) -> CatalogEntryRow | None:
    return session.get(CatalogEntryRow, dataset_id)


def audience(session: Session, dataset_id: str) -> list[str]:
    query = (
        select(col(CatalogAudienceRow.membership))
        .where(col(CatalogAudienceRow.dataset_id) == dataset_id)
        .order_by(col(CatalogAudienceRow.membership))
    )
    return list(session.execute(query).scalars().all())


def put_entry(
    session: Session,
    *,
    dataset_id: str,
    description: dict[str, Any],
    audience: Sequence[str],
    offer_audience: dict[str, list[str]],
    now: datetime,
    own_did: str,
) -> bool:
    """Store (or replace) a description and its audience, with its event; True when new."""
    row = session.get(CatalogEntryRow, dataset_id)
    created = row is None
    if row is None:
        row = CatalogEntryRow(dataset_id=dataset_id, description=description, updated_at=now)
    row.description = description
    row.offer_audience = offer_audience
    row.restricted = bool(audience)
    row.updated_at = now
    session.add(row)
    session.execute(
        delete(CatalogAudienceRow).where(col(CatalogAudienceRow.dataset_id) == dataset_id)
    )
    for membership in dict.fromkeys(audience):
        session.add(CatalogAudienceRow(dataset_id=dataset_id, membership=membership))
    session.add(
        EventRow(
            at=now,
            process="catalog",
            process_id=dataset_id,
            role="provider",
            direction="local",
            message="CatalogEntryPublished",
            from_state=None if created else "PUBLISHED",
            to_state="PUBLISHED",
            peer_did=own_did,
            detail={"audience": list(audience), "restricted": bool(audience)},
        )
    )
    return created


# -- harvested catalogues -------------------------------------------------------------------------


@dataclass(frozen=True)
class Harvested:
    """One harvested dataset as the index stores it (made by connector.control.harvest)."""

    dataset_id: str
    content_hash: str
    title: str
    title_en: str
    publisher: str
    search_text: str
    period_start: str | None
    period_end: str | None
    document: str  # canonical JSON
    terms: tuple[tuple[str, str], ...]  # (kind, iri)


def peer(session: Session, did: str) -> HarvestPeerRow | None:
    return session.get(HarvestPeerRow, did)


def peers(session: Session) -> list[HarvestPeerRow]:
    return list(
        session.execute(select(HarvestPeerRow).order_by(col(HarvestPeerRow.did))).scalars().all()
    )


def hashes(session: Session, peer_did: str) -> dict[str, tuple[int, str]]:
    """dataset id -> (row id, content hash) of what we hold of a peer."""
    query = select(_DATASETS.c.dataset_id, _DATASETS.c.id, _DATASETS.c.content_hash).where(
        _DATASETS.c.peer_did == peer_did
    )
    return {r[0]: (r[1], r[2]) for r in session.execute(query).all()}


def replace_harvest(
    session: Session,
    peer_did: str,
    *,
    changed: Sequence[Harvested],
    removed: Iterable[int],
    held: dict[str, tuple[int, str]],
) -> None:
    """Apply one peer's changes: changed entries rewritten, vanished ones deleted. Unchanged
    entries are not touched at all. Bulk statements, so a peer's first harvest of thousands of
    entries is a handful of round trips."""
    gone = list(removed) + [held[h.dataset_id][0] for h in changed if h.dataset_id in held]
    for start in range(0, len(gone), 500):
        chunk = gone[start : start + 500]
        session.execute(delete(_TERMS).where(_TERMS.c.dataset.in_(chunk)))
        session.execute(delete(_DATASETS).where(_DATASETS.c.id.in_(chunk)))
    if not changed:
        return
    rows = [
        {
            "peer_did": peer_did,
            "dataset_id": h.dataset_id,
            "content_hash": h.content_hash,
            "title": h.title[:1024],
            "title_en": h.title_en[:1024],
            "publisher": h.publisher[:512],
            "search_text": h.search_text,
            "period_start": h.period_start,
            "period_end": h.period_end,
            "document": h.document,
        }
        for h in changed
    ]
    session.execute(insert(_DATASETS), rows)
    ids = hashes_by_id(session, peer_did, [h.dataset_id for h in changed])
    terms = [
        {"dataset": ids[h.dataset_id], "kind": kind, "iri": iri[:512]}
        for h in changed
        for kind, iri in dict.fromkeys(h.terms)
    ]
    if terms:
        session.execute(insert(_TERMS), terms)


def hashes_by_id(session: Session, peer_did: str, dataset_ids: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for start in range(0, len(dataset_ids), 500):
        chunk = list(dataset_ids[start : start + 500])
        query = select(_DATASETS.c.dataset_id, _DATASETS.c.id).where(
            and_(_DATASETS.c.peer_did == peer_did, _DATASETS.c.dataset_id.in_(chunk))
        )
        out.update({r[0]: r[1] for r in session.execute(query).all()})
    return out


def mark_peer(session: Session, row: HarvestPeerRow) -> None:
    session.merge(row)


# -- search ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchQuery:
    words: tuple[str, ...] = ()  # normalised (NFKC, case-folded) substrings, all required
    themes: tuple[str, ...] = ()  # any of (already widened to narrower concepts)
    places: tuple[str, ...] = ()  # any of (already widened to what lies upstream)
    publishers: tuple[str, ...] = ()
    formats: tuple[str, ...] = ()
    start: str | None = None  # the period must overlap [start, end]
    end: str | None = None
    limit: int = 50
    offset: int = 0


COUNT_CAP = 500


_FTS = table("harvested_text", column("rowid", Integer))
_DRIVER = _TERMS.alias("driver")


# What a hit shows: not the whole row (its search text), and no ORM objects to build.
_HIT_COLUMNS = (
    _DATASETS.c.id,
    _DATASETS.c.peer_did,
    _DATASETS.c.dataset_id,
    _DATASETS.c.title,
    _DATASETS.c.title_en,
    _DATASETS.c.publisher,
    _DATASETS.c.period_start,
    _DATASETS.c.period_end,
)
# Of a hit's document, only its themes and places are shown: the database cuts them out as
# JSON text (the exact text stored), so a page never parses whole documents in Python.
_MEMBERS = {"themes": "dcat:theme", "places": "dct:spatial"}


def _hit_columns(dialect: str) -> tuple[Any, ...]:
    table_name = _DATASETS.name
    members: Iterable[Any]
    if dialect == "postgresql":
        # `json` (not jsonb) keeps the stored text as it is
        members = (
            literal_column(f"CAST(CAST({table_name}.document AS json) -> '{key}' AS text)")
            for key in _MEMBERS.values()
        )
    else:
        members = (
            literal_column(f"{table_name}.document -> '$.\"{key}\"'") for key in _MEMBERS.values()
        )
    return (*_HIT_COLUMNS, *(m.label(name) for m, name in zip(members, _MEMBERS, strict=True)))


def search(session: Session, query: SearchQuery) -> tuple[list[Any], int]:
    """The hits in harvest order (with `themes` and `places` as JSON text, or None) and how
    many there are (at most COUNT_CAP + 1, meaning
    "more than COUNT_CAP"); one statement for the hits, and one to count them unless this
    page is the last.

    On SQLite, words of 3+ characters drive the query from the trigram index, read in rowid
    order: the first page stops after `limit` hits and the count after COUNT_CAP + 1, instead
    of listing every match first (a common word matches most of the index). Facets are checked
    on the index's rowid through the (dataset, kind, iri) key, so a candidate's row, with its
    large document, is read only for a hit."""
    dialect = session.get_bind().dialect.name
    fts = dialect == "sqlite" and any(len(w) >= 3 for w in query.words)
    facets = [
        (kind, values)
        for kind, values in (
            ("publisher", query.publishers),
            ("place", query.places),
            ("theme", query.themes),
            ("format", query.formats),
        )
        if values
    ]
    # Without the trigram index, SQLite would walk every dataset in id order and probe each
    # facet per candidate; a facet of one IRI walks the term index instead, already in
    # dataset order, so only that facet's datasets are candidates (same hits, same order).
    singles = [(kind, values[0]) for kind, values in facets if len(values) == 1]
    driver = singles[0] if singles and dialect == "sqlite" and not fts else None
    key: Any = _FTS.c.rowid if fts else _DRIVER.c.dataset if driver else _DATASETS.c.id
    where: list[Any] = []  # on `key` only
    on_row: list[Any] = []  # need the dataset row
    params: dict[str, Any] = {}
    if fts:
        # the trigram index answers substrings of 3+ characters; shorter ones are LIKEs below
        params["fts"] = " AND ".join(
            '"' + w.replace('"', '""') + '"' for w in query.words if len(w) >= 3
        )
        where.append(text("harvested_text MATCH :fts"))
    if driver:
        where += [_DRIVER.c.kind == driver[0], _DRIVER.c.iri == driver[1]]
    for word in query.words:
        if fts and len(word) >= 3:
            continue
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        on_row.append(_DATASETS.c.search_text.like(f"%{escaped}%", escape="\\"))
    # A candidate has a term or two of each kind: on SQLite one seek to (dataset, kind) and
    # a look at those beats a seek per IRI asked for (`+` keeps the IRI off the index).
    probed_iri: Any = (
        literal_column(f"+{_TERMS.name}.iri", String) if dialect == "sqlite" else _TERMS.c.iri
    )
    for kind, values in facets:
        if driver and driver[0] == kind:
            continue
        where.append(
            exists().where(
                and_(
                    _TERMS.c.dataset == key,
                    _TERMS.c.kind == kind,
                    probed_iri.in_(list(values)),
                )
            )
        )
    if query.start is not None:
        on_row.append(or_(_DATASETS.c.period_end.is_(None), _DATASETS.c.period_end >= query.start))
    if query.end is not None:
        on_row.append(
            or_(_DATASETS.c.period_start.is_(None), _DATASETS.c.period_start <= query.end)
        )

    def source(*, rows: bool) -> Any:
        if fts:
            return _FTS.join(_DATASETS, _DATASETS.c.id == _FTS.c.rowid) if rows else _FTS
        if driver:
            return _DRIVER.join(_DATASETS, _DATASETS.c.id == _DRIVER.c.dataset) if rows else _DRIVER
        return _DATASETS

    def condition(*parts: Any) -> Any:
        return and_(*parts) if parts else text("1 = 1")

    if fts:
        page = (
            select(*_hit_columns(dialect))
            .select_from(source(rows=True))
            .where(condition(*where, *on_row))
            .order_by(key)
            .offset(query.offset)
            .limit(query.limit)
        )
    else:
        # the page's ids first (on SQLite through the narrow id + text index), then its rows
        ids = (
            select(key)
            .select_from(source(rows=bool(on_row) or not driver))
            .where(condition(*where, *on_row))
            .order_by(key)
            .offset(query.offset)
            .limit(query.limit)
        )
        page = (
            select(*_hit_columns(dialect)).where(_DATASETS.c.id.in_(ids)).order_by(_DATASETS.c.id)
        )
    rows = session.execute(page, params)
    hits = list(rows.all())
    if len(hits) < query.limit and (hits or query.offset == 0):
        return hits, query.offset + len(hits)  # the last page: no need to count
    # The count stops at COUNT_CAP (the caller says "at least"); in index order, so the
    # trigram index is read only as far as needed, and rows only when a filter needs them.
    capped = (
        select(key)
        .select_from(source(rows=bool(on_row)))
        .where(condition(*where, *on_row))
        .order_by(key)
        .limit(COUNT_CAP + 1)
        .subquery()
    )
    total = session.execute(select(func.count()).select_from(capped), params)
    return hits, int(total.scalar_one())


def all_documents(session: Session, limit: int) -> list[tuple[str, str]]:
    """(peer DID, DSP dataset JSON) of harvested entries, at most `limit` (for SPARQL)."""
    query = select(_DATASETS.c.peer_did, _DATASETS.c.document).order_by(_DATASETS.c.id).limit(limit)
    return [(r[0], r[1]) for r in session.execute(query).all()]


def addresses(session: Session, dids: Sequence[str]) -> dict[str, str]:
    """DSP base of each of these harvested peers, in one query."""
    if not dids:
        return {}
    query = select(col(HarvestPeerRow.did), col(HarvestPeerRow.address)).where(
        col(HarvestPeerRow.did).in_(list(dids))
    )
    return {r[0]: r[1] for r in session.execute(query).all()}


def touch_peers(session: Session, dids: Sequence[str], now: datetime) -> None:
    if dids:
        session.execute(
            update(HarvestPeerRow)
            .where(col(HarvestPeerRow.did).in_(list(dids)))
            .values(last_attempt_at=now)
        )
