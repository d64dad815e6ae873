"""Alembic environment: always driven from `connector.store.migrate` with a live connection."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import connector.store.audit_tables
import connector.store.catalog_tables
import connector.store.consent_tables
import connector.store.console_tables
import connector.store.dataplane_tables
import connector.store.dataset_tables
import connector.store.exchange_tables
import connector.store.hold_tables
import connector.store.policy_tables
import connector.store.tables  # noqa: F401  (registers the tables on the metadata)

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite needs table rebuilds for ALTER
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
