"""Fixtures shared by every test package."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.clock import ManualClock

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> ManualClock:
    """A fixed, advanceable clock (2026-04-01T09:00:00Z)."""
    return ManualClock()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """`../shared` beside the repository: official schemas, shapes and test vectors."""
    if not SHARED.is_dir():
        pytest.fail(f"../shared not found at {SHARED}; it holds the official data files")
    return SHARED


# -- databases: every store and e2e test runs on SQLite and, when configured, PostgreSQL --------

import os  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Iterator  # noqa: E402

from sqlalchemy import create_engine, text  # noqa: E402

PG_ENV = "TSUNAGU_TEST_DATABASE_URL"


def _postgres_schema_url(base: str) -> Iterator[str]:
    """A fresh schema per test, so tests never see each other's rows."""
    from connector.store.database import normalise_url

    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(normalise_url(base))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated-from-nothing database URL: a SQLite file, or a PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} not set (CI sets it to the local PostgreSQL)")
    yield from _postgres_schema_url(base)
