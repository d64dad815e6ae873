"""The store most tests here use: a migrated database of the run (SQLite and PostgreSQL).
Modules that need another (a copy of a file, rows written first) define `store` themselves."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connector.store.database import build_engine
from connector.store.store import Store


@pytest.fixture
def store(migrated_database_url: str) -> Iterator[Store]:
    s = Store(build_engine(migrated_database_url))
    yield s
    s.dispose()
