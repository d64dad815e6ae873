"""The connector's persistence: one transaction object, the only place with SQL.

Every state change happens inside `Store.transaction()`. Reads that precede a transition lock
the row (`FOR UPDATE` on PostgreSQL; SQLite write transactions start with BEGIN IMMEDIATE and
are serialised anyway), so two processes sharing one database cannot both apply a message.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar

import anyio
from sqlalchemy import bindparam, delete, event, func, or_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError, StatementError
from sqlmodel import Session, col, select

from connector.clock import system_clock
from connector.errors import Conflict, NotFound, StoreError
from connector.store import audit_facts, driver
from connector.store.audit_log import (
    ANY_PENDING_SQL,
    FROM_EVENT,
    PG_PENDING_WITH_EVENTS,
    entry_for,
)
from connector.store.audit_log import append as append_to_audit_log
from connector.store.audit_log import seal_pending as seal_audit_pending
from connector.store.audit_tables import AuditPendingRow
from connector.store.consent_tables import ConsentGrantRow, ConsentVersionRow
from connector.store.exchange_queries import owe_receipts
from connector.store.failure import database_failure
from connector.store.kept_connections import KeptConnections
from connector.store.new_rows import write_new_rows
from connector.store.tables import (
    AgreementRow,
    DatasetRow,
    EventRow,
    NegotiationRow,
    OfferRow,
    SeenTokenRow,
    TransferRow,
)

log = logging.getLogger("tsunagu.store")
T = TypeVar("T")
_INSERT: dict[str, Any] = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}
_PENDING_TABLE: Any = AuditPendingRow.__table__  # type: ignore[attr-defined]
_SEAL_BATCH = 2000  # pending entries sealed per transaction at most


def _remember_statement(dialect: str) -> Any:
    """The replay cache's one statement: insert (issuer, jti) unless present; a row back means
    it was new (rowcount varies by driver).

    On PostgreSQL a seen token's record need not wait for the disk: after a crash of the
    database server (not of this process) the last few could be forgotten, and each only
    matters until its token expires (at most 5 minutes); every state commit stays synchronous.
    The setting is made by the INSERT itself (`set_config(..., is_local => true)` in the row
    it selects), not by a `SET LOCAL` of its own: one round trip less on every request."""
    table = SeenTokenRow.__table__  # type: ignore[attr-defined]
    names = ["issuer", "jti", "expires_at"]
    if dialect != "postgresql":
        statement = _INSERT[dialect](SeenTokenRow)
    else:
        relaxed = select(
            func.set_config("synchronous_commit", "off", True).label("relaxed")
        ).subquery("relaxed")
        row = select(*(bindparam(n, type_=table.c[n].type) for n in names)).select_from(relaxed)
        statement = postgresql_insert(SeenTokenRow).from_select(names, row)
    return statement.on_conflict_do_nothing(index_elements=["issuer", "jti"]).returning(
        SeenTokenRow.jti
    )


# The same statement as `_remember_statement` builds for SQLite, as the driver takes it.
_REMEMBER_SQLITE_SQL = (
    "INSERT INTO seen_token (issuer, jti, expires_at) VALUES (?, ?, ?)"
    " ON CONFLICT (issuer, jti) DO NOTHING RETURNING jti"
)

ProcessRow = TypeVar("ProcessRow", NegotiationRow, TransferRow)


class _Session(Session):
    """A session that notes every EventRow it flushes, for the audit log (see `seal`)."""


@event.listens_for(_Session, "before_flush")
def _note_events(session: Session, _context: Any, _instances: Any) -> None:
    new = [row for row in session.new if isinstance(row, EventRow)]
    if new:
        session.info.setdefault("events", []).extend(new)
    audit_facts.note(session)
    if any(
        isinstance(row, ConsentGrantRow)
        for rows in (session.new, session.dirty, session.deleted)
        for row in rows
    ):
        session.info["consent_changed"] = True  # however the grant was written: see seal


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # SQLite lets one writer in at a time and makes the others poll with growing sleeps
        # (its busy handler), which costs tens of milliseconds under contention. Queueing our
        # own threads on a lock hands the database over at once instead. PostgreSQL has row
        # locks and needs no such thing.
        self.inline = engine.dialect.name == "sqlite"  # see call()
        # PostgreSQL is the database several connector processes share: a change may come from
        # another process, which this one's change signals do not see (api/processes.py polls).
        self.shared = engine.dialect.name == "postgresql"
        self.mark = driver.MARK[engine.dialect.paramstyle]  # the driver's parameter marker
        self._writer: threading.Lock | contextlib.nullcontext[None] = (
            threading.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()
        )
        # Built once: it runs for every protocol request, and building it costs more than
        # executing it.
        self._remember = _remember_statement(engine.dialect.name)
        expiry_type = SeenTokenRow.__table__.c.expires_at.type  # type: ignore[attr-defined]
        self._expiry_bind = expiry_type.dialect_impl(engine.dialect).bind_processor(
            engine.dialect
        ) or (lambda value: value)
        # PostgreSQL: the one statement is its own transaction (autocommit), so a token costs
        # one round trip, not three (BEGIN, INSERT, COMMIT); `read` likewise.
        self._autocommit = (
            engine.execution_options(isolation_level="AUTOCOMMIT")
            if engine.dialect.name == "postgresql"
            else None
        )
        # PostgreSQL: the replay insert on connections kept in autocommit (kept_connections),
        # compiled once with its constant parameters.
        self._kept: KeptConnections | None = None
        if engine.dialect.name == "postgresql":
            self._kept = KeptConnections(engine)
            compiled = self._remember.compile(dialect=engine.dialect)
            self._remember_pg = (str(compiled), dict(compiled.params))
        # SQLite: the replay cache's own pooled connection, taken at its first token and kept
        # (used under the writer lock only): a checkout and return per token cost as much as
        # its INSERT. Returned by dispose().
        self._replay_connection: Any = None
        # Connections lent out by the pool right now, counted for dispose().
        self._lent = 0
        self._returned = threading.Condition()
        self._closed = False
        # Called after a commit that queued receipts for peers (the receipt exchange's wake);
        # and the DID whose agreements `seal` records (set by the composition root).
        self.receipts_owed: Callable[[], None] = lambda: None
        self.own_did: str | None = None
        self.clock: Callable[[], datetime] = system_clock  # when a recorded fact happened
        # A transaction leaves its events' entries pending (committed with the events: on
        # PostgreSQL a pending row each, see audit_log), and what is pending is numbered in one
        # batch `seal_delay` s after the first such commit. SQLite: by the first transaction
        # after that moment, before its commit (it holds the one write lock anyway), or by a
        # sealer thread when no transaction comes. PostgreSQL: by the sealer thread, in a
        # transaction of its own, so no business commit waits for the log's head lock across
        # another's WAL flush. The head, entry, node and receipt rows, written in every
        # business commit, cost a transition half as much again as the transition itself
        # (benchmarks/audit.py). Reads that must see every event seal first (`caught_up`).
        # Off (tests, the benchmark's baseline): entries are appended in the business
        # transaction.
        self.seal_later = True
        self._postgres = engine.dialect.name == "postgresql"
        # SQLite 20 ms: batches of ~10-15 entries under load (5 ms made 2-6, and a transition
        # +24 % instead of +10-18 %). PostgreSQL 50 ms: each seal is a transaction of its own
        # there, five round trips (a transition +19-24 % at 20 ms, +16-19 % at 50, same runs).
        # Entries stay prompt where it matters, since reads seal first.
        self.seal_delay = 0.05 if self._postgres else 0.02
        self._sealing = threading.Lock()  # one sealer per process; processes queue on the head
        self._unsealed = threading.Event()  # this process committed pending events since a seal
        self._unsealed_since = 0.0  # time.monotonic() of the first of them
        self._sealer: threading.Thread | None = None
        self._stopping = threading.Event()  # ends the sealer thread's wait (dispose)
        self._sealer_started = threading.Lock()
        event.listen(engine, "checkout", self._on_checkout)
        event.listen(engine, "checkin", self._on_checkin)

    def _on_checkout(self, *_: Any) -> None:
        with self._returned:
            self._lent += 1

    def _on_checkin(self, *_: Any) -> None:
        with self._returned:
            self._lent -= 1
            self._returned.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(
                "the store is closed (the connector is shutting down)", code="store_closed"
            )

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        self._check_open()
        try:
            with self._writer:
                with _Session(self.engine, expire_on_commit=False) as session, session.begin():
                    tx = Transaction(
                        session,
                        self.own_did,
                        self.clock,
                        later=self.seal_later,
                        batch_due=self._batch_due,
                    )
                    yield tx
                    tx.seal()
                # Committed; the writer lock still held, so the note matches what is pending.
                if tx.left_pending:
                    self._note_pending()
                elif tx.caught_up:
                    self._unsealed.clear()
            if tx.receipts_owed:
                self.receipts_owed()
        except IntegrityError as exc:
            # The database's own words name tables, not what the user gave: keep them in the log.
            log.warning("integrity error: %s", exc.orig)
            raise Conflict(
                "the change clashes with data stored already (an id in use, or a reference "
                "to something that is not there)",
                code="duplicate",
            ) from exc
        except SQLAlchemyError as exc:
            raise database_failure(exc) from exc

    def seal_pending(self, batch: int = _SEAL_BATCH) -> int:
        """Give every committed event still without an entry its entry (any process's), in
        batches of `batch` per transaction; returns how many were sealed. Runs after business
        commits (in the sealer thread), before reads that must see every event (`caught_up`),
        and once when the connector starts (after a crash between a commit and its seal)."""
        self._check_open()
        return self._seal(batch)

    def _seal(self, batch: int = _SEAL_BATCH, *, own: bool = False) -> int:
        """`own`: only if this process committed pending events since the last seal (SQLite's
        batches: of a commit's thread and the sealer thread racing, the second has none)."""
        sealed = 0
        with self._sealing, self._writer:
            if own and not self._unsealed.is_set():
                return 0
            self._unsealed.clear()  # whatever this process committed is pending by now
            self._unsealed_since = 0.0
            while True:
                with Session(self.engine, expire_on_commit=False) as session, session.begin():
                    done = seal_audit_pending(session, batch)
                if done.owed:
                    self.receipts_owed()
                sealed += len(done.events)
                if len(done.events) < batch:
                    return sealed

    def caught_up(self) -> None:
        """Seal what is pending now, before a read that must see every event committed so far
        (proofs, auditors' reads, checkpoints): batches are sealed a few ms after their
        commits, and another process (the CLI's, one that crashed) may have left some."""
        if self._unsealed.is_set() or (self.seal_later and self._any_pending()):
            self.seal_pending()

    def _any_pending(self) -> bool:
        # One statement outside a transaction (`read`): on PostgreSQL one round trip, not
        # three; on SQLite a WAL reader, not a write lock taken to read.
        return bool(self.read(ANY_PENDING_SQL[self.engine.dialect.name]))

    def _batch_due(self) -> bool:
        # PostgreSQL: never in a business transaction (the head lock would be held to its
        # commit, across processes): the sealer thread's.
        return (
            not self._postgres
            and self._unsealed.is_set()
            and time.monotonic() - self._unsealed_since >= self.seal_delay
        )

    def _note_pending(self) -> None:
        if not self._unsealed.is_set():
            self._unsealed_since = time.monotonic()
            self._unsealed.set()
        if self._sealer is None:
            with self._sealer_started:
                if self._sealer is None:
                    self._sealer = threading.Thread(
                        target=self._run_sealer, name="tsunagu-audit-sealer", daemon=True
                    )
                    self._sealer.start()

    def _run_sealer(self) -> None:
        while True:
            self._unsealed.wait()
            if self._closed:
                return
            # The commits of the next few ms join this batch. SQLite: while commits go on, the
            # first one past `seal_delay` seals it in its own transaction, and this thread
            # steps in only when none came (two sealers at the same moment would hand the
            # locks back and forth). PostgreSQL: this thread seals at `seal_delay`.
            delay = self.seal_delay * (1 if self._postgres else 2)
            wait = self._unsealed_since + delay - time.monotonic()
            if wait > 0:
                self._stopping.wait(wait)
            if self._closed:
                return
            if self._unsealed.is_set() and time.monotonic() - self._unsealed_since >= delay:
                self._seal_batch()

    def _seal_batch(self) -> None:
        # The business changes are committed: a failure here must not report them as failed.
        # Their events stay pending, and the next seal (any process's, or this one's at start)
        # takes them.
        try:
            self._seal(own=True)
        except (SQLAlchemyError, StoreError) as exc:
            log.warning("audit log: sealing deferred after an error: %s", exc)

    def remember(self, issuer: str, jti: str, expires_at: datetime) -> bool:
        """The replay cache: False when (issuer, jti) was seen before.

        One INSERT ... ON CONFLICT DO NOTHING: the unique key decides, atomically across
        processes, and it is cheap enough to run for every protocol request."""
        values = {"issuer": issuer, "jti": jti, "expires_at": expires_at}
        self._check_open()
        try:
            if self._kept is not None:
                return self._remember_postgres(values)
            with self._writer:
                return self._remember_sqlite(issuer, jti, expires_at)
        except SQLAlchemyError as exc:
            raise database_failure(exc) from exc

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """The rows of one read-only statement (markers as `driver.MARK`), in a snapshot of its
        own and no transaction of ours: on PostgreSQL in autocommit, one round trip instead of
        BEGIN, SELECT, COMMIT; on SQLite on the pooled connection in autocommit, as a WAL reader
        (no BEGIN IMMEDIATE, no writer lock). A proof's reads are one such statement each."""
        self._check_open()
        try:
            if self._autocommit is not None:
                with self._autocommit.connect() as connection:
                    return list(connection.exec_driver_sql(sql, tuple(params)).all())
            raw = self.engine.raw_connection()
            try:
                cursor = raw.cursor()
                try:
                    return list(cursor.execute(sql, tuple(params)).fetchall())
                except self.engine.dialect.loaded_dbapi.Error as exc:
                    raise self._driver_error(sql, exc) from exc
                finally:
                    cursor.close()
            finally:
                raw.close()
        except SQLAlchemyError as exc:
            raise database_failure(exc) from exc

    def _remember_postgres(self, values: dict[str, Any]) -> bool:
        assert self._kept is not None
        sql, constants = self._remember_pg
        params = {**constants, **values}
        params["expires_at"] = self._expiry_bind(params["expires_at"])
        try:
            with self._kept.one() as connection:
                cursor = connection.cursor()
                try:
                    cursor.execute(sql, params)
                    return cursor.fetchone() is not None
                finally:
                    cursor.close()
        except self.engine.dialect.loaded_dbapi.Error as exc:
            raise self._driver_error(sql, exc) from exc

    def _remember_sqlite(self, issuer: str, jti: str, expires_at: datetime) -> bool:
        """SQLite (the writer lock held): the one statement on the replay cache's own DB-API
        connection, which is in autocommit (database.py takes transaction control from the
        sqlite3 module), so it is a write transaction of its own, as atomic and durable as
        BEGIN, INSERT, COMMIT: those three through SQLAlchemy's connection cost more than
        twice the statement. A connection that failed is given back, and the next token
        takes a fresh one."""
        if self._replay_connection is None:
            self._check_open()  # again, under the lock: dispose() returns the connection
            self._replay_connection = self.engine.raw_connection()  # counted for dispose
        cursor = self._replay_connection.cursor()
        try:
            try:
                row = cursor.execute(
                    _REMEMBER_SQLITE_SQL, (issuer, jti, self._expiry_bind(expires_at))
                ).fetchone()
            finally:
                cursor.close()
        except self.engine.dialect.loaded_dbapi.Error as exc:
            self._drop_replay_connection()
            raise self._driver_error(_REMEMBER_SQLITE_SQL, exc) from exc
        return row is not None

    def _driver_error(self, sql: str, exc: Exception) -> StatementError:
        """A DB-API error of a statement sent to the driver itself, as SQLAlchemy raises it."""
        error = self.engine.dialect.loaded_dbapi.Error
        return DBAPIError.instance(sql, None, exc, error, dialect=self.engine.dialect)

    def _return_replay_connection(self, timeout: float) -> None:
        """dispose(): the replay cache's connections back to the pool, once no token is being
        remembered on them (SQLite: the writer lock; none comes after, the store being closed;
        PostgreSQL: the one in use goes back when its insert is done)."""
        if self._kept is not None:
            self._kept.close()
        if self._replay_connection is None or not isinstance(self._writer, type(threading.Lock())):
            return
        if self._writer.acquire(timeout=timeout):
            try:
                self._drop_replay_connection()
            finally:
                self._writer.release()

    def _drop_replay_connection(self) -> None:
        connection, self._replay_connection = self._replay_connection, None
        if connection is not None:
            connection.close()  # back to the pool (which resets it)

    def forget_expired_tokens(self, now: datetime) -> int:
        with self.transaction() as tx:
            result = tx.session.execute(
                delete(SeenTokenRow).where(col(SeenTokenRow.expires_at) < now)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking store work from async code.

        SQLite admits one writer per database and its transactions take about a millisecond
        here, so they run inline on the event loop: worker threads only added hand-offs and
        GIL contention (benchmarks/negotiation.py: 15.6 -> 18.0 negotiations/s). PostgreSQL
        round-trips go to a worker thread. Inline there too, a negotiation cost each connector
        15-20 % less CPU (the hop costs more than a one-row transaction: 709 against 295 µs
        a write), but on a loaded machine the loop then waits for every round trip and WAL
        flush, and negotiations/s fell (3.3 -> 2.1-2.4, p50 0.7 -> 1.0-1.3 s, same-run A/B)."""
        if self.inline:
            return fn(*args, **kwargs)
        return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))

    def dispose(self, timeout: float = 10.0) -> None:
        """Close the pool, once the connections still lent out are back (at most `timeout` s).

        Cancelling a task does not stop the worker thread it was waiting on, so a transaction
        may still run when the connector shuts down. Disposing under it would strand its
        connection: returned to the discarded pool, it is garbage-collected while still open.
        New transactions are refused from here on, so a thread cannot open one afterwards."""
        self._closed = True
        self._return_replay_connection(timeout)
        self._unsealed.set()  # wakes the sealer thread, to see the store closed
        self._stopping.set()
        if self._sealer is not None:
            self._sealer.join(timeout)
        with self._returned:
            if not self._returned.wait_for(lambda: self._lent <= 0, timeout):
                log.warning("store: %d connection(s) still in use after %gs", self._lent, timeout)
        if self.seal_later:  # what the sealer had not reached: sealed now, not at the next start
            try:
                self._seal()
            except (SQLAlchemyError, StoreError) as exc:
                log.warning("audit log: pending entries left for the next start: %s", exc)
        self.engine.dispose()


class Transaction:
    def __init__(
        self,
        session: Session,
        own_did: str | None = None,
        clock: Callable[[], datetime] = system_clock,
        *,
        later: bool = False,
        batch_due: Callable[[], bool] = lambda: False,
    ) -> None:
        self.session = session
        self.own_did = own_did
        self.clock = clock
        self.receipts_owed = 0
        self.later = later  # entries sealed in batches (see Store.seal_delay)
        self.batch_due = batch_due  # whether this one seals what is pending, its own with it
        self.left_pending = False  # seal soon after the commit
        self.caught_up = False  # this transaction sealed everything pending

    def seal(self) -> None:
        """Before commit: the events this transaction wrote are left pending, committed with
        it, so there is no event without its entry and no entry without its event; the sealer
        numbers them in a batch a few ms later (Store.seal_delay), writing the entries and the
        receipts they owe. SQLite: the events after the last one sealed are pending as they are,
        and when the batch is due this transaction seals it (it holds the write lock anyway).
        PostgreSQL: a pending row per event, those of new events in the events' own INSERT.
        With `later` off, the entries are appended here, under the head lock.

        Events are noted when flushed, whichever way they were added, so nothing slips past;
        those of the plain tables' new rows (store.new_rows) are written first, and noted as
        their INSERT returns their numbers."""
        postgres = self.later and self.session.get_bind().dialect.name == "postgresql"
        written = write_new_rows(
            self.session, with_events=PG_PENDING_WITH_EVENTS if postgres else None
        )
        if written:
            self.session.info.setdefault("events", []).extend(written)
        self.session.flush()
        if self.session.info.pop("consent_changed", False):
            # In the change's own transaction: a process holding consent decisions sees the
            # new number by the time it can see the change (the row lock orders writers).
            self.session.execute(
                update(ConsentVersionRow)
                .where(col(ConsentVersionRow.id) == 1)
                .values(value=col(ConsentVersionRow.value) + 1)
            )
        facts = self.session.info.pop("facts", [])
        if facts:  # agreements, transfers, operators' changes: recorded (store.audit_facts)
            self.session.add_all(audit_facts.records(facts, self.own_did, self.clock()))
            self.session.flush()
            self.session.info.pop("facts", None)  # the records themselves are no facts
        events: list[EventRow] = self.session.info.pop("events", [])
        if not events:
            return
        events.sort(key=lambda e: e.seq or 0)
        if postgres:  # the entries made from the event rows, by the sealer thread
            in_insert = {id(e) for e in written}  # their pending rows are written
            rest = [(e.seq or 0, FROM_EVENT) for e in events if id(e) not in in_insert]
            driver.insert(self.session, _PENDING_TABLE, ("event_seq", "body"), rest)
            self.left_pending = True
            return
        if self.later:  # SQLite: the events are pending as they are (AuditHeadRow.event_seq)
            if not self.batch_due():
                self.left_pending = True
                return
            # The batch is due: sealed here, so it costs no transaction of its own.
            batch = seal_audit_pending(self.session, _SEAL_BATCH)
            self.receipts_owed = batch.owed
            self.caught_up = len(batch.events) < _SEAL_BATCH
            self.left_pending = not self.caught_up
            return
        records = [(e.seq or 0, entry_for(e)) for e in events]
        size = append_to_audit_log(self.session, records)
        # Exchanges both sides vouch for: a receipt owed to the peer, sent after commit.
        self.receipts_owed = owe_receipts(self.session, events, size - len(events))

    # -- datasets and offers ------------------------------------------------------------

    def add(self, row: Any) -> None:
        self.session.add(row)  # flushed once, at commit

    def consent_changed(self) -> None:
        """Grants changed by a statement the session does not see row by row (an UPDATE):
        the consent version grows at commit all the same."""
        self.session.info["consent_changed"] = True

    def has_dataset(self, dataset_id: str) -> bool:
        return self.session.get(DatasetRow, dataset_id) is not None

    def dataset(self, dataset_id: str) -> DatasetRow:
        row = self.session.get(DatasetRow, dataset_id)
        if row is None:
            raise NotFound(f"no dataset {dataset_id!r}", code="unknown_dataset")
        return row

    def datasets(self) -> Sequence[DatasetRow]:
        return self.session.exec(select(DatasetRow).order_by(col(DatasetRow.id))).all()

    def offers(self, dataset_ids: Sequence[str] | None = None) -> Sequence[OfferRow]:
        """Offers of the given datasets (all when None), in one query whatever their number."""
        query = select(OfferRow).order_by(col(OfferRow.dataset_id), col(OfferRow.id))
        if dataset_ids is not None:
            query = query.where(col(OfferRow.dataset_id).in_(dataset_ids))
        return self.session.exec(query).all()

    def offer(self, offer_id: str) -> OfferRow | None:
        return self.session.get(OfferRow, offer_id)

    # -- negotiations and transfers -------------------------------------------------------

    def process(
        self, kind: type[ProcessRow], pid: str, *, role: str | None = None, lock: bool = True
    ) -> ProcessRow:
        """Load one of our processes by our own pid, locked for update unless `lock` is False
        (a read that changes nothing: on PostgreSQL a row lock is a write, whose commit
        waits for the WAL flush)."""
        statement = _by_pid(kind) if lock else _by_pid_unlocked(kind)
        row: ProcessRow | None = self.session.execute(statement, {"pid": pid}).scalars().first()
        if row is None or (role is not None and row.role != role):
            raise NotFound(f"no {kind.__tablename__} {pid!r}", code=f"unknown_{kind.__tablename__}")
        return row

    def process_by_peer(
        self, kind: type[ProcessRow], *, role: str, counterparty_did: str, peer_pid: str
    ) -> ProcessRow | None:
        """Our process the peer knows by `peer_pid`, locked for update. Most often there is
        none (a first message): so its id is looked for by the driver-level statement alone,
        and only a process found is loaded as an object."""
        pid = self.process_id_by_peer(
            kind, role=role, counterparty_did=counterparty_did, peer_pid=peer_pid
        )
        return None if pid is None else self.process(kind, pid)

    def process_id_by_peer(
        self, kind: type[ProcessRow], *, role: str, counterparty_did: str, peer_pid: str
    ) -> str | None:
        """The id of our process the peer knows by `peer_pid`, its row locked for update as
        `process_by_peer` locks it (FOR UPDATE on PostgreSQL; SQLite: the write transaction),
        and not loaded: for a caller that needs only the id (a receipt taken for it), the
        object cost more than the statement."""
        self.session.flush()  # as the ORM's query would (nothing to do when nothing changed)
        connection = self.session.connection()
        dialect = connection.dialect
        query = _by_peer_sql(kind.__tablename__, dialect.name, dialect.paramstyle)
        found = driver.execute(connection, query, (role, counterparty_did, peer_pid))
        return str(found[0][0]) if found else None

    def processes(
        self,
        kind: type[ProcessRow],
        *,
        role: str | None = None,
        state: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Sequence[ProcessRow]:
        query = select(kind)
        if role is not None:
            query = query.where(kind.role == role)
        if state is not None:
            query = query.where(kind.state == state)
        query = (
            query.order_by(col(kind.created_at).desc(), col(kind.id)).limit(limit).offset(offset)
        )
        return self.session.exec(query).all()

    def agreement(self, agreement_id: str) -> AgreementRow:
        row = self.session.get(AgreementRow, agreement_id)
        if row is None:
            raise NotFound(f"no agreement {agreement_id!r}", code="unknown_agreement")
        return row

    def agreements(self, *, limit: int = 100, offset: int = 0) -> Sequence[AgreementRow]:
        query = (
            select(AgreementRow)
            .order_by(col(AgreementRow.signed_at).desc(), col(AgreementRow.id))
            .limit(limit)
            .offset(offset)
        )
        return self.session.exec(query).all()

    def events(self, process_id: str) -> Sequence[EventRow]:
        return self.session.execute(_EVENTS, {"pid": process_id}).scalars().all()

    def last_event(self, process_id: str) -> EventRow | None:
        return self.session.execute(_LAST_EVENT, {"pid": process_id}).scalars().first()

    def count_events(self) -> int:
        return int(self.session.exec(select(func.count()).select_from(EventRow)).one())

    # -- the outbound runner's leases --------------------------------------------------------

    def claim_due(
        self, kind: type[ProcessRow], *, owner: str, now: datetime, lease_seconds: float, limit: int
    ) -> list[ProcessRow]:
        """Lease up to `limit` processes whose outbound message is due and nobody holds."""
        due = (
            select(kind)
            .where(
                col(kind.pending).is_not(None), col(kind.next_attempt_at) <= now, _free(kind, now)
            )
            .order_by(col(kind.next_attempt_at))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = list(self.session.exec(due).all())
        until = now + timedelta(seconds=lease_seconds)
        for row in rows:
            row.lease_owner, row.lease_until = owner, until
        return rows

    def release_leases(self, kind: type[ProcessRow], owner: str) -> int:
        """Give up every lease `owner` holds, so another process sends those messages at once
        instead of waiting for the leases to lapse."""
        held = (
            update(kind)
            .where(col(kind.lease_owner) == owner)
            .values(lease_owner=None, lease_until=None)
        )
        return int(self.session.execute(held).rowcount or 0)  # type: ignore[attr-defined]

    def next_due(self, kind: type[ProcessRow], *, now: datetime) -> datetime | None:
        """When the earliest message nobody holds falls due (held ones wait for their lease)."""
        query = select(func.min(kind.next_attempt_at)).where(
            col(kind.pending).is_not(None), _free(kind, now)
        )
        value: datetime | None = self.session.exec(query).one()
        return value


# The statements every protocol message runs, built once: building and hashing a statement
# costs more than SQLite takes to run it (about 100 µs of a 300 µs read).


@functools.cache
def _by_pid(kind: type[ProcessRow]) -> Any:
    return _by_pid_unlocked(kind).with_for_update()


@functools.cache
def _by_pid_unlocked(kind: type[ProcessRow]) -> Any:
    return select(kind).where(kind.id == bindparam("pid"))


@functools.cache
def _by_peer_sql(table: str, dialect: str, paramstyle: str) -> str:
    mark = driver.MARK[paramstyle]
    return (
        f"SELECT id FROM {table} WHERE role = {mark} AND counterparty_did = {mark}"
        f" AND peer_pid = {mark}" + (" FOR UPDATE" if dialect == "postgresql" else "")
    )


# A process's own events: not the facts recorded about it (connector.store.audit_records).
_EVENTS = (
    select(EventRow)
    .where(EventRow.process_id == bindparam("pid"), col(EventRow.direction) != "record")
    .order_by(col(EventRow.seq))
)


_LAST_EVENT = (
    select(EventRow)
    .where(EventRow.process_id == bindparam("pid"), col(EventRow.direction) != "record")
    .order_by(col(EventRow.seq).desc())
    .limit(1)
)


def _free(kind: type[ProcessRow], now: datetime) -> Any:
    return or_(col(kind.lease_until).is_(None), col(kind.lease_until) < now)
