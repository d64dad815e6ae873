"""Queries of consent (the only SQL about it), over the tables in `consent_tables`.

Every change of a record is written with its status event, its signed receipt and an
`EventRow` in one transaction, so the audit log records it (store.Transaction.seal). The
receipt is signed inside that transaction by the caller's `sign` function, with the record
exactly as it is being committed.

`consenting` is what the data plane runs once per access of a personal dataset: one SELECT
for the subjects whose consent covers the access at that instant (the rule of
`policies.consent.ConsentRecord.covers`, in SQL).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select, update
from sqlmodel import col

from connector.errors import NotFound, StoreError
from connector.store.consent_tables import (
    ConsentDatasetRow,
    ConsentEventRow,
    ConsentGrantRow,
    ConsentPortalRow,
    ConsentPurposeRow,
    ConsentReceiptRow,
    ConsentRecipientRow,
    ConsentRecordRow,
    ConsentVersionRow,
    PersonalDatasetRow,
)
from connector.store.store import Store, Transaction
from connector.store.tables import EventRow
from policies.consent import ConsentRecord, ConsentStatus, StatusEvent

Sign = Callable[[ConsentRecord, StatusEvent], tuple[str, str]]
"""(record, the event just recorded) -> (receipt id, signed receipt)."""


@dataclass(frozen=True)
class Consenting:
    """The consenting subjects of an access (with when each one's cover ends), the consent
    version they are no older than, and when a grant not yet started would begin."""

    version: int | None
    subjects: dict[str, datetime | None]
    next_start: datetime | None


@dataclass(frozen=True)
class Change:
    record: ConsentRecord
    receipt_id: str
    receipt: str


def utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive UTC, PostgreSQL aware datetimes: both become aware UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class ConsentQueries:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- personal datasets ------------------------------------------------------------------

    @staticmethod
    def mark_personal(tx: Transaction, dataset_id: str, subject_field: str, now: datetime) -> None:
        """In the transaction that creates the dataset: it holds personal data."""
        tx.add(
            PersonalDatasetRow(dataset_id=dataset_id, subject_field=subject_field, created_at=now)
        )

    def personal(self, dataset_id: str) -> str | None:
        """The subject field of a personal dataset, None for any other dataset."""
        with self.store.transaction() as tx:
            row = tx.session.get(PersonalDatasetRow, dataset_id)
            return row.subject_field if row is not None else None

    # -- changes ----------------------------------------------------------------------------

    def give(self, record: ConsentRecord, sign: Sign, *, direction: str) -> Change:
        event = record.events[-1]
        with self.store.transaction() as tx:
            if tx.session.get(ConsentRecordRow, record.id) is not None:
                raise StoreError(f"consent {record.id} exists already", code="consent_exists")
            tx.add(
                ConsentRecordRow(
                    id=record.id,
                    subject=record.subject,
                    controller=record.controller,
                    legal_basis=record.legal_basis,
                    valid_from=utc(record.valid_from),
                    valid_until=utc(record.valid_until) if record.valid_until else None,
                    status=event.status.word,
                    notice=record.notice,
                    language=record.language,
                    created_at=utc(event.at),
                    updated_at=utc(event.at),
                )
            )
            tx.session.flush()  # the parent row first: the children's foreign keys name it
            for purpose in record.purposes:
                tx.add(ConsentPurposeRow(record_id=record.id, purpose=purpose))
            for recipient in record.recipients:
                tx.add(ConsentRecipientRow(record_id=record.id, recipient=recipient))
            for dataset in record.datasets:
                tx.add(ConsentDatasetRow(record_id=record.id, dataset_id=dataset))
            until = utc(record.valid_until) if record.valid_until else None
            for purpose in record.purposes:
                for recipient in record.recipients:
                    for dataset_id in record.datasets or (None,):
                        tx.add(
                            ConsentGrantRow(
                                record_id=record.id,
                                subject=record.subject,
                                purpose=purpose,
                                recipient=recipient,
                                dataset_id=dataset_id,
                                valid_from=utc(record.valid_from),
                                valid_until=until,
                            )
                        )
            return self._record_change(tx, record, None, sign, direction)

    def change(
        self,
        record_id: str,
        event: StatusEvent,
        sign: Sign,
        *,
        direction: str,
        subject: str | None = None,
    ) -> Change:
        """Append a status event (withdrawal, expiry); InvalidConsent when the record cannot
        change any more. With `subject`, a record of another subject is not found."""
        with self.store.transaction() as tx:
            row = tx.session.get(ConsentRecordRow, record_id, with_for_update=True)
            if row is None or (subject is not None and row.subject != subject):
                raise NotFound(f"no consent {record_id!r}", code="unknown_consent")
            before = _record(tx, row)
            after = before.with_event(event)
            row.status = event.status.word
            row.updated_at = utc(event.at)
            tx.add(row)
            if event.status is not ConsentStatus.GIVEN:  # no longer grants anything
                tx.session.execute(
                    update(ConsentGrantRow)
                    .where(col(ConsentGrantRow.record_id) == record_id)
                    .values(active=0)
                )
                tx.consent_changed()
            return self._record_change(tx, after, before.recorded_status(event.at), sign, direction)

    def _record_change(
        self,
        tx: Transaction,
        record: ConsentRecord,
        before: ConsentStatus | None,
        sign: Sign,
        direction: str,
    ) -> Change:
        event = record.events[-1]
        tx.add(
            ConsentEventRow(
                record_id=record.id,
                status=event.status.word,
                at=utc(event.at),
                by=event.by,
                method=event.method,
            )
        )
        receipt_id, token = sign(record, event)
        tx.add(
            ConsentReceiptRow(
                id=receipt_id,
                record_id=record.id,
                status=event.status.word,
                token=token,
                created_at=utc(event.at),
            )
        )
        # The audit log's entry: no subject id in it (the log is append-only and shown to
        # auditors); the receipt's hash binds the signed receipt to the log.
        tx.add(
            EventRow(
                at=event.at,
                process="consent",
                process_id=record.id,
                role="controller",
                direction=direction,
                message=event.status.value,
                from_state=before.word if before is not None else None,
                to_state=event.status.word,
                peer_did="",
                detail={
                    "receipt": receipt_id,
                    "receiptSha256": hashlib.sha256(token.encode()).hexdigest(),
                    "purposes": list(record.purposes),
                    "recipients": list(record.recipients),
                    "method": event.method,
                },
            )
        )
        return Change(record, receipt_id, token)

    # -- reads ------------------------------------------------------------------------------

    def record(self, record_id: str, *, subject: str | None = None) -> ConsentRecord:
        with self.store.transaction() as tx:
            row = tx.session.get(ConsentRecordRow, record_id)
            if row is None or (subject is not None and row.subject != subject):
                raise NotFound(f"no consent {record_id!r}", code="unknown_consent")
            return _record(tx, row)

    def records(
        self,
        *,
        subject: str | None = None,
        status: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[ConsentRecord]:
        query = select(ConsentRecordRow)
        if subject is not None:
            query = query.where(col(ConsentRecordRow.subject) == subject)
        if status is not None:
            query = query.where(col(ConsentRecordRow.status) == status)
        query = (
            query.order_by(col(ConsentRecordRow.created_at).desc(), col(ConsentRecordRow.id))
            .limit(limit)
            .offset(offset)
        )
        with self.store.transaction() as tx:
            rows = tx.session.execute(query).scalars().all()
            return _records(tx, rows)

    def receipts(self, record_id: str) -> list[dict[str, Any]]:
        query = (
            select(ConsentReceiptRow)
            .where(col(ConsentReceiptRow.record_id) == record_id)
            .order_by(col(ConsentReceiptRow.created_at), col(ConsentReceiptRow.id))
        )
        with self.store.transaction() as tx:
            return [
                {"id": r.id, "status": r.status, "receipt": r.token}
                for r in tx.session.execute(query).scalars().all()
            ]

    def expired_given(self, now: datetime) -> list[str]:
        """Records still recorded as given whose validity ended: their expiry is owed."""
        query = select(col(ConsentRecordRow.id)).where(
            col(ConsentRecordRow.status) == ConsentStatus.GIVEN.word,
            col(ConsentRecordRow.valid_until).is_not(None),
            col(ConsentRecordRow.valid_until) <= utc(now),
        )
        with self.store.transaction() as tx:
            return list(tx.session.execute(query).scalars().all())

    # -- the data plane's question ----------------------------------------------------------

    def version(self) -> int | None:
        """The consent version: it grows with every committed change of grants, in that
        change's transaction (store.Transaction.seal). None where the row is missing."""
        query = select(col(ConsentVersionRow.value)).where(col(ConsentVersionRow.id) == 1)
        with self.store.transaction() as tx:
            value = tx.session.connection().execute(query).scalar()
        return int(value) if value is not None else None

    def consenting(
        self,
        *,
        dataset_id: str,
        purposes: Sequence[frozenset[str]],
        recipients: frozenset[str],
        now: datetime,
    ) -> dict[str, datetime | None]:
        """Subjects whose consent covers the access now, each with the instant their cover
        ends (None: open-ended). `purposes` holds, per purpose of the access, the consent
        purposes covering it (the purpose and its broader concepts)."""
        if not purposes or not recipients:
            return {}
        with self.store.transaction() as tx:
            return _consenting(tx, dataset_id, purposes, recipients, utc(now))

    def consenting_since(
        self,
        *,
        dataset_id: str,
        purposes: Sequence[frozenset[str]],
        recipients: frozenset[str],
        now: datetime,
    ) -> Consenting:
        """`consenting`, with what tells how long the answer holds: the consent version read
        BEFORE it (PostgreSQL's statements each see the latest commits, so the subjects are at
        least as new as the version: never older), and the first later start of a grant that
        could join the answer (a consent given for a future date)."""
        at = utc(now)
        version_query = select(col(ConsentVersionRow.value)).where(col(ConsentVersionRow.id) == 1)
        with self.store.transaction() as tx:
            version = tx.session.connection().execute(version_query).scalar()
            if not purposes or not recipients:
                return Consenting(version, {}, None)
            subjects = _consenting(tx, dataset_id, purposes, recipients, at)
            g = ConsentGrantRow
            later = select(func.min(col(g.valid_from))).where(
                col(g.recipient).in_(sorted(recipients)),
                col(g.purpose).in_(sorted(set().union(*purposes))),
                col(g.active) == 1,
                col(g.valid_from) > at,
                or_(col(g.dataset_id).is_(None), col(g.dataset_id) == dataset_id),
            )
            starts = tx.session.connection().execute(later).scalar()
        return Consenting(int(version) if version is not None else None, subjects, aware(starts))

    # -- resident portals -------------------------------------------------------------------

    def add_portal(self, row: ConsentPortalRow) -> None:
        with self.store.transaction() as tx:
            if tx.session.execute(
                select(ConsentPortalRow).where(col(ConsentPortalRow.name) == row.name)
            ).first():
                raise StoreError(f"a portal named {row.name!r} exists", code="portal_exists")
            tx.add(row)

    def portals(self) -> list[ConsentPortalRow]:
        with self.store.transaction() as tx:
            query = select(ConsentPortalRow).order_by(col(ConsentPortalRow.created_at))
            return list(tx.session.execute(query).scalars().all())

    def portal_by_token(self, token_hash: str) -> ConsentPortalRow | None:
        with self.store.transaction() as tx:
            query = select(ConsentPortalRow).where(
                col(ConsentPortalRow.token_hash) == token_hash,
                col(ConsentPortalRow.revoked_at).is_(None),
            )
            return tx.session.execute(query).scalars().first()

    def revoke_portal(self, portal_id: str, now: datetime) -> ConsentPortalRow:
        with self.store.transaction() as tx:
            row = tx.session.get(ConsentPortalRow, portal_id, with_for_update=True)
            if row is None:
                raise NotFound(f"no portal {portal_id!r}", code="unknown_portal")
            row.revoked_at = row.revoked_at or utc(now)
            tx.add(row)
            return row


def _consenting(
    tx: Transaction,
    dataset_id: str,
    purposes: Sequence[frozenset[str]],
    recipients: frozenset[str],
    at: datetime,
) -> dict[str, datetime | None]:
    g = ConsentGrantRow
    wanted = sorted(set().union(*purposes))
    where = (
        col(g.recipient).in_(sorted(recipients)),
        col(g.purpose).in_(wanted),
        col(g.active) == 1,
        col(g.valid_from) <= at,
        or_(col(g.valid_until).is_(None), col(g.valid_until) > at),
        or_(col(g.dataset_id).is_(None), col(g.dataset_id) == dataset_id),
    )
    if len(purposes) == 1:  # the usual case: any covering grant will do, no grouping
        query: Any = select(col(g.subject), col(g.valid_until)).where(*where)
    else:  # per record: every purpose of the access covered by one of its grants
        covered = [func.max(case((col(g.purpose).in_(sorted(p)), 1), else_=0)) for p in purposes]
        query = (
            select(col(g.subject), col(g.valid_until))
            .where(*where)
            .group_by(col(g.record_id), col(g.subject), col(g.valid_until))
            .having(and_(*(c == 1 for c in covered)))
        )
    out: dict[str, datetime | None] = {}
    # Core rows straight from the connection: the ORM's row handling doubled the cost.
    for subject, until in tx.session.connection().execute(query).all():
        end = aware(until)
        if subject in out:  # covered by several grants: until the latest end
            previous = out[subject]
            end = None if previous is None or end is None else max(previous, end)
        out[subject] = end
    return out


def _record(tx: Transaction, row: ConsentRecordRow) -> ConsentRecord:
    return _records(tx, [row])[0]


def _records(tx: Transaction, rows: Sequence[ConsentRecordRow]) -> list[ConsentRecord]:
    """Records with their purposes, recipients, datasets and events: five queries in all,
    whatever the number of records."""
    ids = [row.id for row in rows]
    if not ids:
        return []

    def grouped(table: Any, column: Any, order: Any = None) -> Mapping[str, list[Any]]:
        query = select(table).where(col(table.record_id).in_(ids))
        if order is not None:
            query = query.order_by(order)
        out: dict[str, list[Any]] = {}
        for item in tx.session.execute(query).scalars().all():
            out.setdefault(item.record_id, []).append(getattr(item, column) if column else item)
        return out

    purposes = grouped(ConsentPurposeRow, "purpose")
    recipients = grouped(ConsentRecipientRow, "recipient")
    datasets = grouped(ConsentDatasetRow, "dataset_id")
    events = grouped(ConsentEventRow, "", col(ConsentEventRow.seq))
    records = []
    for row in rows:
        valid_from = aware(row.valid_from)
        created = aware(row.created_at)
        assert valid_from is not None
        records.append(
            ConsentRecord(
                id=row.id,
                subject=row.subject,
                controller=row.controller,
                purposes=tuple(sorted(purposes.get(row.id, []))),
                recipients=tuple(sorted(recipients.get(row.id, []))),
                datasets=tuple(sorted(datasets.get(row.id, []))),
                legal_basis=row.legal_basis,
                valid_from=valid_from,
                valid_until=aware(row.valid_until),
                notice=row.notice,
                language=row.language,
                events=tuple(
                    StatusEvent(
                        ConsentStatus("Consent" + e.status.capitalize()),
                        aware(e.at) or valid_from,
                        e.by,
                        e.method,
                    )
                    for e in events.get(row.id, [])
                ),
                created_at=created,
            )
        )
    return records
