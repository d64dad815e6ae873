"""Fixtures shared by every test package."""

from __future__ import annotations

import json
import os
import shutil
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


# What migrating an empty schema to head sends to PostgreSQL, recorded once per test process:
# replaying it takes a fifth of the time alembic does (1.5-4 s a participant under load), and
# tests/store/test_store.py checks a replayed schema against a migrated one.
_MIGRATION_SCRIPT: list[tuple[str, Any]] = []


def migration_script(schemas: PostgresSchemas) -> list[tuple[str, Any]]:
    """The statements (and parameters) a migration of an empty schema to head executes."""
    if not _MIGRATION_SCRIPT:
        from sqlalchemy import event

        from connector.store.database import build_engine
        from connector.store.migrate import upgrade

        sent: list[tuple[str, Any]] = []
        engine = build_engine(schemas.new())

        def note(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
            # alembic's own look-ups (is there a version table?) change nothing: not replayed
            if not statement.lstrip().upper().startswith("SELECT"):
                sent.append((statement, params or None))

        event.listen(engine, "before_cursor_execute", note)
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        _MIGRATION_SCRIPT.extend(sent)
    return _MIGRATION_SCRIPT


class PostgresSchemas:
    """Fresh PostgreSQL schemas, one per database a test needs, dropped afterwards, so tests
    (and the participants inside one test) never see each other's rows."""

    def __init__(self, base: str) -> None:
        from connector.store.database import normalise_url

        self.base = base
        self.admin = create_engine(normalise_url(base))
        self.created: list[str] = []

    def new(self, *, migrated: bool = False) -> str:
        """A new schema's URL: empty, or (`migrated`) as a migration to head leaves it."""
        script = migration_script(self) if migrated else []
        schema = f"t_{uuid.uuid4().hex[:16]}"
        with self.admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            if script:
                conn.exec_driver_sql(f'SET LOCAL search_path TO "{schema}"')
                for statement, params in script:
                    conn.exec_driver_sql(statement, params)
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


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> str:
    """An empty PostgreSQL schema, for what only PostgreSQL has (skipped without one)."""
    return _postgres(request).new()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL with nothing in it yet: a SQLite file, or a PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return _postgres(request).new()


@pytest.fixture(params=["sqlite", "postgres"])
def migrated_database_url(
    request: pytest.FixtureRequest, tmp_path: Path, migrated_sqlite: Path
) -> str:
    """A database URL already at the schema's head: a copy of the migrated SQLite template,
    or a PostgreSQL schema made by replaying the migration (see `migration_script`)."""
    if request.param == "sqlite":
        copy = tmp_path / "test.db"
        shutil.copyfile(migrated_sqlite, copy)
        return f"sqlite:///{copy}"
    return _postgres(request).new(migrated=True)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated to head once per session (about half a second a copy
    saves). Tests that create participants copy it where `tsunagu init` puts the database, and
    init then finds it at head; migrating an empty database stays tested in tests/store and
    by every test that runs `tsunagu init` as written (tests/cli, tests/e2e/test_cli.py)."""
    from connector.private_files import SQLITE_FILE
    from connector.store.database import build_engine
    from connector.store.migrate import upgrade

    template = tmp_path_factory.mktemp("migrated") / SQLITE_FILE
    engine = build_engine(f"sqlite:///{template}")
    try:
        upgrade(engine)
    finally:
        engine.dispose()  # the last connection folds the WAL back into the file
    return template


def with_migrated_sqlite(
    root: Path, template: Path, database_for: Callable[[str], str | None]
) -> Callable[[str], str | None]:
    """`database_for`, but a participant on SQLite (None) under `root` starts with a copy
    of the migrated template in its directory, where init would create the database."""
    from connector.private_files import SQLITE_FILE, private_directory

    def for_key(key: str) -> str | None:
        url = database_for(key)
        directory = root / key
        if url is None and not directory.exists():
            private_directory(directory)
            shutil.copyfile(template, directory / SQLITE_FILE)
            os.chmod(directory / SQLITE_FILE, 0o600)
        return url

    return for_key


@pytest.fixture(params=["sqlite", "postgres"])
def database_for(request: pytest.FixtureRequest) -> Callable[[str], str | None]:
    """For tests with several participants: participant key -> its own database URL
    (None: the SQLite file in the participant's directory)."""
    if request.param == "sqlite":
        return lambda _key: None
    schemas = _postgres(request)
    return lambda _key: schemas.new(migrated=True)  # participants' init finds it at head


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
