"""Which databases a restore may load into: one that was only migrated counts as empty (its
audit head at size 0 and consent version 0 are the migrations' seed), one with a participant's
rows does not."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from connector.errors import ConfigError
from connector.store.database import build_engine
from connector.store.dump import dump_tables, load_tables

DUMP = '{"table": "audit_head", "row": {"id": 1, "size": 0, "frontier": ""}}\n'


def test_a_migrated_but_unused_database_takes_a_restore(migrated_database_url: str) -> None:
    counts = load_tables(migrated_database_url, io.StringIO(DUMP))
    assert counts == {"audit_head": 1}


@pytest.mark.parametrize(
    ("table", "column"), [("audit_head", "size"), ("consent_version", "value")]
)
def test_a_database_with_a_history_of_its_own_is_refused(
    migrated_database_url: str, table: str, column: str
) -> None:
    """The seeded rows count as empty only as seeded: a log that grew, or consent that
    changed, is a participant's own."""
    engine = build_engine(migrated_database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text(f"UPDATE {table} SET {column} = 3"))
    finally:
        engine.dispose()
    with pytest.raises(ConfigError, match=f"already has rows in '{table}'"):
        load_tables(migrated_database_url, io.StringIO(DUMP))
    engine = build_engine(migrated_database_url)
    try:
        with engine.connect() as connection:  # and nothing was changed
            assert connection.execute(text(f"SELECT {column} FROM {table}")).scalar() == 3
    finally:
        engine.dispose()


def test_a_sqlite_participant_loads_into_either_database(
    migrated_sqlite: Path, migrated_database_url: str, tmp_path: Path
) -> None:
    """SQLite's full-text index tables are not carried (they are rebuilt from the harvested
    rows), so a SQLite participant's rows load into PostgreSQL too."""
    source = tmp_path / "source.db"
    shutil.copyfile(migrated_sqlite, source)
    engine = build_engine(f"sqlite:///{source}")
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO harvest_peer (did, name, address, entries)"
                    " VALUES ('did:web:peer.example', 'B町', 'http://127.0.0.1:1/', 1)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO harvested_dataset (peer_did, dataset_id, content_hash, title,"
                    " title_en, publisher, search_text, document) VALUES ('did:web:peer.example',"
                    " 'urn:d:1', 'h', '水位', '', '', '河川水位 上流橋', '{}')"
                )
            )
    finally:
        engine.dispose()
    rows = io.StringIO()
    dumped = dump_tables(f"sqlite:///{source}", rows)
    assert not any(name.startswith("harvested_text") for name in dumped)
    rows.seek(0)
    loaded = load_tables(migrated_database_url, rows)
    assert loaded["harvest_peer"] == 1 and loaded["harvested_dataset"] == 1
    engine = build_engine(migrated_database_url)
    try:
        with engine.connect() as connection:  # SQLite's index was rebuilt by its triggers
            if connection.dialect.name == "sqlite":
                found = "SELECT count(*) FROM harvested_text WHERE harvested_text MATCH '上流橋'"
            else:
                found = "SELECT count(*) FROM harvested_dataset WHERE search_text LIKE '%上流橋%'"
            assert connection.execute(text(found)).scalar() == 1
    finally:
        engine.dispose()
