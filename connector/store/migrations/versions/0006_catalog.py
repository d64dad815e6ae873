"""catalogue: published DCAT descriptions and their audiences; harvested catalogues and the
full-text index over them (SQLite FTS5 trigram, PostgreSQL pg_trgm)

Revision ID: 0004_catalog
Revises: 0004_policy
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_catalog"
down_revision = "0004_policy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalog_entry",
        sa.Column("dataset_id", sa.String(length=512), nullable=False),
        sa.Column("description", sa.JSON(), nullable=False),
        sa.Column("offer_audience", sa.JSON(), nullable=False),
        sa.Column("restricted", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("dataset_id"),
    )
    op.create_table(
        "catalog_audience",
        sa.Column("dataset_id", sa.String(length=512), nullable=False),
        sa.Column("membership", sa.String(length=512), nullable=False),
        sa.PrimaryKeyConstraint("dataset_id", "membership"),
    )
    op.create_index("ix_catalog_audience_membership", "catalog_audience", ["membership"])
    op.create_table(
        "harvest_peer",
        sa.Column("did", sa.String(length=512), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("address", sa.String(length=2048), nullable=False),
        sa.Column("catalog_hash", sa.String(length=64), nullable=True),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failure_code", sa.String(length=64), nullable=True),
        sa.Column("failure", sa.String(length=2048), nullable=True),
        sa.PrimaryKeyConstraint("did"),
    )
    op.create_table(
        "harvested_dataset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("peer_did", sa.String(length=512), nullable=False),
        sa.Column("dataset_id", sa.String(length=512), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=1024), nullable=False),
        sa.Column("title_en", sa.String(length=1024), nullable=False),
        sa.Column("publisher", sa.String(length=512), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("period_start", sa.String(length=10), nullable=True),
        sa.Column("period_end", sa.String(length=10), nullable=True),
        sa.Column("document", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("peer_did", "dataset_id", name="uq_harvested_dataset"),
    )
    op.create_index("ix_harvested_dataset_peer_did", "harvested_dataset", ["peer_did"])
    op.create_table(
        "harvested_term",
        sa.Column("dataset", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("iri", sa.String(length=512), nullable=False),
        sa.ForeignKeyConstraint(["dataset"], ["harvested_dataset.id"]),
        sa.PrimaryKeyConstraint("dataset", "kind", "iri"),
    )
    op.create_index("ix_harvested_term_lookup", "harvested_term", ["kind", "iri", "dataset"])
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _sqlite_text_index()
    elif bind.dialect.name == "postgresql":
        _postgresql_text_index(bind)


def _sqlite_text_index() -> None:
    # External-content FTS5: the text lives once, in harvested_dataset; triggers keep the
    # index in step. Trigram: substrings of 3+ characters match, spaces or not (日本語).
    op.execute(
        "CREATE VIRTUAL TABLE harvested_text USING fts5(search_text, "
        "content='harvested_dataset', content_rowid='id', tokenize='trigram')"
    )
    op.execute(
        "CREATE TRIGGER harvested_text_ai AFTER INSERT ON harvested_dataset BEGIN "
        "INSERT INTO harvested_text(rowid, search_text) VALUES (new.id, new.search_text); END"
    )
    op.execute(
        "CREATE TRIGGER harvested_text_ad AFTER DELETE ON harvested_dataset BEGIN "
        "INSERT INTO harvested_text(harvested_text, rowid, search_text) "
        "VALUES ('delete', old.id, old.search_text); END"
    )
    op.execute(
        "CREATE TRIGGER harvested_text_au AFTER UPDATE OF search_text ON harvested_dataset BEGIN "
        "INSERT INTO harvested_text(harvested_text, rowid, search_text) "
        "VALUES ('delete', old.id, old.search_text); "
        "INSERT INTO harvested_text(rowid, search_text) VALUES (new.id, new.search_text); END"
    )


def _postgresql_text_index(bind: sa.engine.Connection) -> None:
    # pg_trgm in pg_catalog, so its operator classes are found whatever the search_path (one
    # schema per participant or test). Where it cannot be had, search still works (LIKE scans).
    with bind.begin_nested() as savepoint:
        try:
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA pg_catalog"))
            bind.execute(
                sa.text(
                    "CREATE INDEX ix_harvested_dataset_text ON harvested_dataset "
                    "USING gin (search_text gin_trgm_ops)"
                )
            )
        except sa.exc.DBAPIError:
            savepoint.rollback()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS harvested_text")
    op.drop_table("harvested_term")
    op.drop_table("harvested_dataset")
    op.drop_table("harvest_peer")
    op.drop_table("catalog_audience")
    op.drop_table("catalog_entry")
