"""New rows of the protocol's plain tables written at commit with one statement per table,
not through the ORM's unit of work.

An initial request adds a negotiation, its events, its hold and rules; the ORM's flush of those
(unit of work, per-row parameter handling, identity bookkeeping) cost more than the rest of the
commit put together (benchmarks/negotiation.py, "state + audit commit"). Here they go as
multi-row INSERTs through `driver.insert_rows`, and each row then leaves the session detached
with its identity and every attribute loaded: just as a flush and commit with
`expire_on_commit=False` would leave it.

Only tables with no relationships, foreign keys or facts of their own (store.audit_facts) go
this way; any other new row, and every change to a stored row, is flushed by the ORM after
these. Events get their sequence numbers back from the INSERT (RETURNING): the database hands
them out in the order of the VALUES list, so the ascending numbers are the rows' in order.

`new_row` builds such a row as the ORM builds one it loads (its values in the instance's
dictionary at once, with the history the setters would leave), not attribute by attribute
through SQLModel's and SQLAlchemy's setters:
that construction was a sixth of an initial request's time. A table model's constructor does
not validate either; the defaults are the fields' own.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from typing import Any, TypeVar

from pydantic.fields import FieldInfo
from sqlalchemy import Table
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import configure_mappers, make_transient_to_detached
from sqlalchemy.orm.base import NO_VALUE
from sqlalchemy.orm.instrumentation import ClassManager, manager_of_class
from sqlmodel import Session, SQLModel

from connector.store import driver
from connector.store.hold_tables import HoldRow, ProcessRulesRow
from connector.store.tables import EventRow, NegotiationRow

__all__ = ["new_row", "write_new_rows"]

RowT = TypeVar("RowT", bound=SQLModel)

# Written by insert order: their order among each other is the order they were added in.
_PLAIN: tuple[type[Any], ...] = (NegotiationRow, HoldRow, ProcessRulesRow, EventRow)
_GENERATED = {EventRow: "seq"}  # the key the database numbers


def write_new_rows(session: Session, *, with_events: str | None = None) -> list[EventRow]:
    """Insert the session's new rows of the plain tables; returns the events among them (with
    their sequence numbers), for the audit log. Left to the ORM: everything when the session
    deletes rows (a delete and an insert of one key are the flush's to order), and any row
    whose key the session holds already or whose attributes are not all set. PostgreSQL:
    `with_events` runs in the events' own statement (`driver.insert_rows`' `then`: the audit
    log's pending rows)."""
    if session.deleted:
        return []
    by_type: dict[type[Any], list[tuple[int, Any]]] = defaultdict(list)
    for row in session.new:
        kind = type(row)
        if kind in _PLAIN and _writable(session, row, kind):
            by_type[kind].append((sa_inspect(row).insert_order, row))
    events: list[EventRow] = []
    for kind in _PLAIN:
        rows = [row for _, row in sorted(by_type.get(kind, ()), key=lambda pair: pair[0])]
        if rows:
            _write(session, kind, rows, with_events if kind is EventRow else None)
            if kind is EventRow:
                events = rows
    return events


def _writable(session: Session, row: Any, kind: type[Any]) -> bool:
    table: Table = kind.__table__
    generated = _GENERATED.get(kind)
    values = row.__dict__
    for column in table.c:
        if column.key not in values:
            return False  # a default the ORM would fill in
    if generated is not None:
        return values[generated] is None
    key = sa_inspect(row).mapper.identity_key_from_instance(row)
    return key not in session.identity_map


def _write(session: Session, kind: type[Any], rows: list[Any], then: str | None) -> None:
    table: Table = kind.__table__
    generated = _GENERATED.get(kind)
    columns = [c.key for c in table.c if c.key != generated]
    values = [tuple(row.__dict__[name] for name in columns) for row in rows]
    numbers = driver.insert_rows(session, table, columns, values, returning=generated, then=then)
    for index, row in enumerate(rows):
        session.expunge(row)
        if generated is not None:
            setattr(row, generated, numbers[index])
        make_transient_to_detached(row)


def new_row(kind: type[RowT], **values: Any) -> RowT:
    """`kind(**values)`, for a table model without relationships, built in one step."""
    plan = _construction(kind)
    if plan is None:
        return kind(**values)
    manager, defaults = plan
    row: RowT = manager.new_instance()  # SQLModel's __new__ (pydantic's own attributes)
    given = set(values)
    for name, field in defaults:
        if name not in given:
            values[name] = field.get_default(call_default_factory=True)
    row.__dict__.update(values)
    # The history the setters would have left (each attribute set from no value), which a
    # flush reads where a new row takes a deleted one's key (an UPDATE of what changed).
    state: Any = sa_inspect(row)
    state.committed_state.update(dict.fromkeys(values, NO_VALUE))
    state.modified = True
    object.__setattr__(row, "__pydantic_fields_set__", given)
    return row


@functools.cache
def _construction(kind: type[Any]) -> tuple[ClassManager[Any], list[tuple[str, FieldInfo]]] | None:
    """What `new_row` needs of `kind`; None when the ordinary constructor must run (the class
    has relationships, private attributes or a post-init, or init listeners besides the
    mapper's own configuration check)."""
    configure_mappers()  # what that check would do on a first construction
    manager = manager_of_class(kind)
    if (
        getattr(kind, "__sqlmodel_relationships__", None)
        or kind.__pydantic_post_init__
        or kind.__private_attributes__
        or len(manager.dispatch.init) > 1
        or kind.model_config.get("extra") == "allow"
    ):
        return None
    fields = [(n, f) for n, f in kind.model_fields.items() if not f.is_required()]
    return manager, fields
