"""Queries of the data plane (the only SQL it runs), over the tables in `dataplane_tables`.

The per-request check (`snapshot`) is the hot path: one joined SELECT run on a raw DB-API
connection. Going through a SQLAlchemy transaction would start SQLite's write transaction
(BEGIN IMMEDIATE, see `database.py`), so concurrent reads of several workers would queue on
the write lock; a lone SELECT in autocommit mode reads a consistent WAL snapshot without it.
The policy monitor's round reads the same snapshots a page at a time (`snapshots`), built
from the same statement and rows. Everything else uses `Store.transaction()` like the control plane.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, bindparam, case, literal_column, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement
from sqlmodel import col

from connector.errors import StoreError
from connector.store.audit_records import record_event
from connector.store.consent_tables import ConsentVersionRow, PersonalDatasetRow
from connector.store.dataplane_tables import (
    AgreementUsageRow,
    DataCredentialRow,
    DataGrantRow,
    PushJobRow,
    PushSinkRow,
)
from connector.store.failure import database_failure
from connector.store.store import Store, Transaction
from connector.store.tables import AgreementRow, DatasetRow, TransferRow


@dataclass(frozen=True)
class TransferSnapshot:
    """Everything one data request is checked against, read in one statement."""

    transfer_id: str
    role: str
    state: str
    format: str
    counterparty_did: str
    agreement_id: str
    dataset_id: str | None
    policy: dict[str, Any] | None
    data_address: dict[str, Any] | None
    access_expires_at: datetime | None
    accesses: int
    revoked_at: datetime | None
    revoked_reason: str | None
    agreed_at: datetime | None = None  # for the policy's `elapsedTime`
    last_access_at: datetime | None = None  # for its `timeInterval`
    subject_field: str | None = None
    """Set for personal data: the field linking a row to its data subject (consent.py)."""
    consent_version: int | None = None
    """For personal data: the consent version, read in the same statement (consent.py)."""


def _aware(value: Any) -> datetime | None:
    """SQLite hands back text, PostgreSQL aware datetimes: both become aware UTC datetimes."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise StoreError(f"expected a timestamp, got {type(value).__name__}")
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


SNAPSHOT_PAGE = 500
"""Transfers per read of `DataPlaneQueries.snapshots`."""


@dataclass(frozen=True)
class _Compiled:
    """A statement compiled once for the engine's driver, run on a raw DB-API cursor."""

    sql: str
    positions: Sequence[str] | None  # parameter names in order; None for named paramstyles
    defaults: dict[str, Any]  # what the dialect added itself (SQLite's OFFSET after a LIMIT)

    def parameters(self, values: dict[str, Any]) -> Any:
        if self.defaults:  # not for `snapshot`'s statement: the per-request read stays lean
            values = {**self.defaults, **values}
        if self.positions is None:
            return values
        return [values[name] for name in self.positions]


def _snapshot_of(row: Sequence[Any]) -> TransferSnapshot:
    """A row of the snapshot statement (its columns in `DataPlaneQueries._joined` order)."""
    return TransferSnapshot(
        transfer_id=row[0],
        role=row[1],
        state=row[2],
        format=row[3],
        counterparty_did=row[4],
        agreement_id=row[5],
        dataset_id=row[6],
        policy=_json(row[7]),
        data_address=_json(row[8]),
        access_expires_at=_aware(row[9]),
        accesses=int(row[10] or 0),
        revoked_at=_aware(row[11]),
        revoked_reason=row[12],
        agreed_at=_aware(row[13]),
        last_access_at=_aware(row[14]),
        subject_field=row[15],
        consent_version=None if row[16] is None else int(row[16]),
    )


class DataPlaneQueries:
    def __init__(self, store: Store) -> None:
        self.store = store
        # Read for personal data only: an access of it then needs no statement of its own to
        # know whether the consent gate's kept answer still holds.
        consent_version = case(
            (
                col(PersonalDatasetRow.subject_field).is_not(None),
                select(col(ConsentVersionRow.value))
                .where(col(ConsentVersionRow.id) == literal_column("1"))  # not a parameter
                .scalar_subquery(),
            ),
            else_=None,
        )
        self._joined = (
            select(
                col(TransferRow.id),
                col(TransferRow.role),
                col(TransferRow.state),
                col(TransferRow.format),
                col(TransferRow.counterparty_did),
                col(TransferRow.agreement_id),
                col(AgreementRow.dataset_id),
                col(AgreementRow.policy),
                col(DatasetRow.data_address),
                col(DataGrantRow.access_expires_at),
                col(AgreementUsageRow.accesses),
                col(AgreementUsageRow.revoked_at),
                col(AgreementUsageRow.revoked_reason),
                col(AgreementRow.signed_at),
                col(AgreementUsageRow.last_access_at),
                col(PersonalDatasetRow.subject_field),
                consent_version,
            )
            .select_from(TransferRow)
            .outerjoin(AgreementRow, col(AgreementRow.id) == col(TransferRow.agreement_id))
            .outerjoin(DatasetRow, col(DatasetRow.id) == col(AgreementRow.dataset_id))
            .outerjoin(DataGrantRow, col(DataGrantRow.transfer_id) == col(TransferRow.id))
            .outerjoin(
                AgreementUsageRow,
                col(AgreementUsageRow.agreement_id) == col(TransferRow.agreement_id),
            )
            .outerjoin(
                PersonalDatasetRow,
                col(PersonalDatasetRow.dataset_id) == col(AgreementRow.dataset_id),
            )
        )
        self._one = self._compiled(self._joined.where(col(TransferRow.id) == bindparam("tid")))
        self._pages: dict[int, _Compiled] = {}  # by the number of states asked for

    def _compiled(self, statement: ClauseElement) -> _Compiled:
        compiled = statement.compile(dialect=self.store.engine.dialect)
        assert isinstance(compiled, SQLCompiler)  # a SELECT compiles to one
        added = {name: v for name, v in compiled.params.items() if v is not None}
        return _Compiled(str(compiled), compiled.positiontup, added)

    def _page_statement(self, states: int) -> _Compiled:
        """The page read for `states` states, compiled on first use (the monitor asks for
        one state at a time: two statements in a process's life)."""
        found = self._pages.get(states)
        if found is None:
            statement = (
                self._joined.where(
                    col(TransferRow.role) == bindparam("role"),
                    col(TransferRow.state).in_([bindparam(f"s{i}") for i in range(states)]),
                    col(TransferRow.pending).is_(None),
                    col(TransferRow.id) > bindparam("after"),
                )
                .order_by(col(TransferRow.id))
                .limit(bindparam("page", type_=Integer))
            )
            found = self._pages[states] = self._compiled(statement)
        return found

    # -- the per-request read -------------------------------------------------------------

    def snapshot(self, transfer_id: str) -> TransferSnapshot | None:
        rows = self._read(self._one, {"tid": transfer_id})
        return _snapshot_of(rows[0]) if rows else None

    # -- the policy monitor's round --------------------------------------------------------

    def snapshots(
        self,
        role: str,
        states: Sequence[str],
        *,
        after: str = "",
        page: int = SNAPSHOT_PAGE,
    ) -> list[TransferSnapshot]:
        """One page of the snapshots of our transfers in `states` as `role` that owe the peer
        nothing (`pending` unset), in transfer id order after the id `after`: one statement
        per page, so a round over thousands of transfers neither reads per transfer nor
        holds them all. A page shorter than `page` is the last."""
        if not states:
            return []
        values: dict[str, Any] = {"role": role, "after": after, "page": page}
        values.update({f"s{i}": state for i, state in enumerate(states)})
        return [_snapshot_of(row) for row in self._read(self._page_statement(len(states)), values)]

    def _read(self, statement: _Compiled, values: dict[str, Any]) -> Sequence[Any]:
        try:
            connection = self.store.engine.raw_connection()
            try:
                cursor = connection.cursor()
                cursor.execute(statement.sql, statement.parameters(values))
                rows = cursor.fetchall()
                cursor.close()
            finally:
                connection.close()  # back to the pool, which rolls back (PostgreSQL)
        except (SQLAlchemyError, OSError) as exc:
            raise database_failure(exc) from exc
        except Exception as exc:  # the driver's own errors (sqlite3, psycopg)
            raise database_failure(exc) from exc
        return rows

    # -- grants (provider) ------------------------------------------------------------------

    def save_grant(
        self,
        transfer_id: str,
        consumer_did: str,
        refresh_hash: str,
        expires: datetime,
        *,
        agreement_id: str | None = None,
    ) -> None:
        """A fresh address for a (re)started transfer: its refresh token becomes current (and
        the agreement's usage row exists, in the same transaction)."""
        with self.store.transaction() as tx:
            if agreement_id is not None:
                _ensure_usage(tx, agreement_id)
            grant = tx.session.get(DataGrantRow, transfer_id, with_for_update=True)
            if grant is None:
                grant = DataGrantRow(
                    transfer_id=transfer_id,
                    consumer_did=consumer_did,
                    access_expires_at=expires,
                    updated_at=expires,
                )
            grant.refresh_previous = grant.refresh_current
            grant.refresh_current = refresh_hash
            grant.access_expires_at = max(_aware(grant.access_expires_at) or expires, expires)
            grant.updated_at = datetime.now(UTC)
            tx.add(grant)

    def rotate_refresh(
        self,
        transfer_id: str,
        *,
        presented: str,
        consumer_did: str,
        new_hash: str,
        expires: datetime,
    ) -> str:
        """Swap a presented refresh token for a new one. Returns "ok", "unknown" (no such
        token, or one already superseded) or "wrong_consumer".

        Presenting the current token makes it the previous one; presenting the previous one
        (its successor's response was lost) replaces the unused successor instead."""
        with self.store.transaction() as tx:
            grant = tx.session.get(DataGrantRow, transfer_id, with_for_update=True)
            if grant is None or presented not in (grant.refresh_current, grant.refresh_previous):
                return "unknown"
            if grant.consumer_did != consumer_did:
                return "wrong_consumer"
            if presented == grant.refresh_current:
                grant.refresh_previous = grant.refresh_current
            grant.refresh_current = new_hash
            grant.access_expires_at = max(_aware(grant.access_expires_at) or expires, expires)
            grant.updated_at = datetime.now(UTC)
            tx.add(grant)
            return "ok"

    def drop_refresh(self, transfer_id: str) -> None:
        """Termination: no token of this transfer can be refreshed any more."""
        with self.store.transaction() as tx:
            grant = tx.session.get(DataGrantRow, transfer_id, with_for_update=True)
            if grant is not None:
                grant.refresh_current = grant.refresh_previous = None
                tx.add(grant)

    # -- agreement usage (provider) -----------------------------------------------------------

    def ensure_usage(self, agreement_id: str) -> None:
        with self.store.transaction() as tx:
            _ensure_usage(tx, agreement_id)

    def count_access(self, agreement_id: str, limit: int | None, now: datetime) -> bool:
        """Count one access; False (and nothing counted) when `limit` is reached already.
        One conditional UPDATE, so concurrent workers never overshoot the limit. The usage row
        exists from the transfer's start (`save_grant`); only when the UPDATE finds nothing is
        it made sure of, and the UPDATE tried once more (one write per access, not two)."""
        condition = [col(AgreementUsageRow.agreement_id) == agreement_id]
        if limit is not None:
            condition.append(col(AgreementUsageRow.accesses) < limit)
        statement = (
            update(AgreementUsageRow)
            .where(*condition)
            .values(accesses=col(AgreementUsageRow.accesses) + 1, last_access_at=now)
        )
        for attempt in range(2):
            with self.store.transaction() as tx:
                result = tx.session.execute(statement)
                if getattr(result, "rowcount", 0):
                    return True
                if attempt == 0 and tx.session.get(AgreementUsageRow, agreement_id) is not None:
                    return False  # the limit is reached
                if attempt == 0:
                    _ensure_usage(tx, agreement_id)
        return False

    def revoke_agreement(self, agreement_id: str, reason: str, now: datetime) -> None:
        self.ensure_usage(agreement_id)
        with self.store.transaction() as tx:
            usage = tx.session.get(AgreementUsageRow, agreement_id, with_for_update=True)
            assert usage is not None
            usage.revoked_at = usage.revoked_at or now
            usage.revoked_reason = reason[:1000]
            tx.add(usage)

    # -- credentials (consumer) -------------------------------------------------------------

    def credential(self, transfer_id: str) -> DataCredentialRow | None:
        with self.store.transaction() as tx:
            return tx.session.get(DataCredentialRow, transfer_id)

    def save_credential(self, row: DataCredentialRow) -> None:
        with self.store.transaction() as tx:
            tx.session.merge(row)

    # -- push jobs (provider) ---------------------------------------------------------------

    def enqueue_push(self, transfer_id: str, now: datetime) -> bool:
        """Owe the consumer a push; False when there is one already: a push is delivered once
        per transfer, however often the transfer is reported STARTED."""
        with self.store.transaction() as tx:
            if tx.session.get(PushJobRow, transfer_id, with_for_update=True) is not None:
                return False
            tx.add(
                PushJobRow(
                    transfer_id=transfer_id, state="pending", next_attempt_at=now, updated_at=now
                )
            )
            return True

    def claim_pushes(self, now: datetime, lease_seconds: float, limit: int) -> list[PushJobRow]:
        due = (
            select(PushJobRow)
            .where(
                col(PushJobRow.state) == "pending",
                col(PushJobRow.next_attempt_at) <= now,
                (col(PushJobRow.lease_until).is_(None)) | (col(PushJobRow.lease_until) < now),
            )
            .order_by(col(PushJobRow.next_attempt_at))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        with self.store.transaction() as tx:
            jobs = list(tx.session.execute(due).scalars().all())
            for job in jobs:
                job.lease_until = now + timedelta(seconds=lease_seconds)
                job.attempts += 1
                tx.add(job)
            return jobs

    def renew_pushes(self, transfer_ids: list[str], until: datetime) -> None:
        """Extend the leases of pushes this process is running, long before they lapse."""
        if not transfer_ids:
            return
        statement = (
            update(PushJobRow)
            .where(
                col(PushJobRow.transfer_id).in_(transfer_ids), col(PushJobRow.state) == "pending"
            )
            .values(lease_until=until)
        )
        with self.store.transaction() as tx:
            tx.session.execute(statement)

    def next_push_due(self) -> datetime | None:
        with self.store.transaction() as tx:
            query = select(col(PushJobRow.next_attempt_at)).where(
                col(PushJobRow.state) == "pending"
            )
            times = [_aware(t) for t in tx.session.execute(query).scalars().all()]
        return min((t for t in times if t is not None), default=None)

    def finish_push(
        self,
        transfer_id: str,
        *,
        state: str,
        now: datetime,
        bytes_sent: int = 0,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> PushJobRow | None:
        with self.store.transaction() as tx:
            job = tx.session.get(PushJobRow, transfer_id, with_for_update=True)
            if job is None:
                return None
            job.state, job.lease_until, job.updated_at = state, None, now
            job.bytes_sent = bytes_sent
            job.last_error = error[:2000] if error else None
            job.next_attempt_at = retry_at
            tx.add(job)
            return job

    def push_job(self, transfer_id: str) -> PushJobRow | None:
        with self.store.transaction() as tx:
            return tx.session.get(PushJobRow, transfer_id)

    # -- sinks (consumer) -------------------------------------------------------------------

    def add_sink(self, row: PushSinkRow) -> None:
        with self.store.transaction() as tx:
            tx.add(row)

    def transfer_state(self, transfer_id: str) -> tuple[str, str | None] | None:
        """(state, pending message) of one of our transfers, None when there is none."""
        with self.store.transaction() as tx:
            row = tx.session.get(TransferRow, transfer_id)
            return None if row is None else (row.state, row.pending)

    def sink(self, sink_id: str) -> PushSinkRow | None:
        with self.store.transaction() as tx:
            return tx.session.get(PushSinkRow, sink_id)

    def sink_of_transfer(self, transfer_id: str) -> PushSinkRow | None:
        with self.store.transaction() as tx:
            query = select(PushSinkRow).where(col(PushSinkRow.transfer_id) == transfer_id)
            return tx.session.execute(query).scalars().first()

    def update_sink(self, sink_id: str, *, received: int, content_type: str, now: datetime) -> None:
        """What a live push's batches add up to so far."""
        with self.store.transaction() as tx:
            sink = tx.session.get(PushSinkRow, sink_id, with_for_update=True)
            if sink is None:
                return
            sink.received_bytes = received
            sink.content_type = content_type[:256]
            sink.updated_at = now
            tx.add(sink)

    def sink_filled(
        self, sink_id: str, *, size: int, digest: str, content_type: str, now: datetime
    ) -> None:
        """A finite push arrived whole: the sink says so, and our log records what came in
        (a `data.received` entry, as a pull read's), in one transaction. The auditor holds it
        against the provider's `data.access` of the same delivery."""
        with self.store.transaction() as tx:
            sink = tx.session.get(PushSinkRow, sink_id, with_for_update=True)
            if sink is None:
                return
            sink.received_bytes, sink.complete = size, True
            sink.content_type, sink.updated_at = content_type[:256], now
            tx.add(sink)
            transfer = tx.session.get(TransferRow, sink.transfer_id) if sink.transfer_id else None
            if transfer is None:
                return  # a sink made before its transfer was recorded: nothing to vouch for
            tx.add(
                record_event(
                    at=now,
                    family="data",
                    action="received",
                    subject=transfer.id,
                    peer=transfer.counterparty_did,
                    details={
                        "agreement": transfer.agreement_id,
                        "path": "",
                        "bytes": size,
                        "sha256": digest,
                        "complete": True,
                        "delivery": "push",
                    },
                )
            )


def _ensure_usage(tx: Transaction, agreement_id: str) -> None:
    if tx.session.get(AgreementUsageRow, agreement_id) is None:
        tx.add(AgreementUsageRow(agreement_id=agreement_id))
