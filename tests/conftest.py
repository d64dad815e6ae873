"""Fixtures shared by every test package."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft201909Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT201909
from sqlalchemy import create_engine, text

from connector.clock import ManualClock

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "vocab"


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


@pytest.fixture(scope="session")
def examples() -> Path:
    """The repository's vocabulary examples: A市's and B町's mappings, stations and readings."""
    if not EXAMPLES.is_dir():
        pytest.fail(f"examples not found at {EXAMPLES}")
    return EXAMPLES


# -- databases: every store and e2e test runs on SQLite and, when configured, PostgreSQL --------


PG_ENV = "TSUNAGU_TEST_DATABASE_URL"


class PostgresSchemas:
    """Fresh PostgreSQL schemas, one per database a test needs, dropped afterwards, so tests
    (and the participants inside one test) never see each other's rows."""

    def __init__(self, base: str) -> None:
        from connector.store.database import normalise_url

        self.base = base
        self.admin = create_engine(normalise_url(base))
        self.created: list[str] = []

    def new(self) -> str:
        schema = f"t_{uuid.uuid4().hex[:16]}"
        with self.admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        self.created.append(schema)
        sep = "&" if "?" in self.base else "?"
        return f"{self.base}{sep}options=-csearch_path%3D{schema}"

    def drop_all(self) -> None:
        with self.admin.begin() as conn:
            for schema in self.created:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        self.admin.dispose()


def _postgres(request: pytest.FixtureRequest) -> PostgresSchemas:
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} not set (CI sets it to the local PostgreSQL)")
    schemas = PostgresSchemas(base)
    request.addfinalizer(schemas.drop_all)
    return schemas


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL with nothing in it yet: a SQLite file, or a PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return _postgres(request).new()


@pytest.fixture(params=["sqlite", "postgres"])
def database_for(request: pytest.FixtureRequest) -> Callable[[str], str | None]:
    """For tests with several participants: participant key -> its own database URL
    (None: the SQLite file in the participant's directory)."""
    if request.param == "sqlite":
        return lambda _key: None
    schemas = _postgres(request)
    return lambda _key: schemas.new()


# -- the official DSP 2025-1 schemas, read from ../shared/dsp (never copied) -------------------

SCHEMA_BASE = "https://w3id.org/dspace/2025/1/"

Validate = Callable[[Any, str], None]


@pytest.fixture(scope="session")
def dsp_dir(shared_dir: Path) -> Path:
    return shared_dir / "dsp"


@pytest.fixture(scope="session")
def schema_registry(dsp_dir: Path) -> Registry[Any]:
    resources = []
    for path in sorted(dsp_dir.glob("*/*-schema.json")):
        # MANIFEST.md defect 1: three schemas write `#definitions/...` for `#/definitions/...`.
        contents = json.loads(path.read_text().replace("#definitions/", "#/definitions/"))
        assert contents["$id"] == SCHEMA_BASE + path.relative_to(dsp_dir).as_posix()
        resource = Resource.from_contents(contents, default_specification=DRAFT201909)
        resources.append((contents["$id"], resource))
    assert len(resources) == 26  # every schema in the folder
    return Registry().with_resources(resources)


@pytest.fixture(scope="session")
def validate(schema_registry: Registry[Any]) -> Validate:
    """`validate(instance, "negotiation/contract-request-message-schema.json")`."""

    def check(instance: Any, schema: str) -> None:
        contents = schema_registry[SCHEMA_BASE + schema].contents
        Draft201909Validator(contents, registry=schema_registry).validate(instance)

    return check
