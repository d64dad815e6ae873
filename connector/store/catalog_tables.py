"""Tables of the catalogue: what we publish (DCAT descriptions of our datasets and who may see
them) and what we harvested from other participants (the federated catalogue and its index).

Kept apart from `tables.py`: the dataset rows' lifecycle stays there, these only describe them.
The full-text index over harvested entries is not a table SQLModel knows: on SQLite it is an
FTS5 table with the trigram tokenizer (`harvested_text`, kept in step by triggers), on
PostgreSQL a pg_trgm GIN index on `harvested_dataset.search_text`; both are made by the
migration `0004_catalog` and both find Japanese words inside text without spaces.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

JsonDict = dict[str, Any]


class CatalogEntryRow(SQLModel, table=True):
    """The DCAT description of one of our datasets (`dataset.id`), as DSP dataset JSON without
    offers and distributions: those come from the offer rows and the data plane when served.

    `offer_audience` maps an offer id to the memberships that may see it (absent: everyone
    who sees the dataset)."""

    __tablename__ = "catalog_entry"

    dataset_id: str = Field(primary_key=True, max_length=512)
    description: JsonDict = Field(sa_column=Column(JSON, nullable=False))
    offer_audience: JsonDict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    restricted: bool = False  # True: only members of a `catalog_audience` row see it
    updated_at: datetime


class CatalogAudienceRow(SQLModel, table=True):
    """One membership (e.g. a river-basin council's IRI) whose members see a restricted entry."""

    __tablename__ = "catalog_audience"

    dataset_id: str = Field(primary_key=True, max_length=512)
    membership: str = Field(primary_key=True, max_length=512, index=True)


class HarvestPeerRow(SQLModel, table=True):
    """A participant whose catalogue we harvest: when it last answered, why it last failed."""

    __tablename__ = "harvest_peer"

    did: str = Field(primary_key=True, max_length=512)
    name: str = Field(default="", max_length=512)
    address: str = Field(max_length=2048)  # its DSP base
    catalog_hash: str | None = Field(default=None, max_length=64)
    entries: int = 0
    last_attempt_at: datetime | None = None
    last_seen_at: datetime | None = None  # the last good answer
    failure_code: str | None = Field(default=None, max_length=64)
    failure: str | None = Field(default=None, max_length=2048)


class HarvestedDatasetRow(SQLModel, table=True):
    """A dataset harvested from a peer: its DSP JSON and what search needs."""

    __tablename__ = "harvested_dataset"
    __table_args__ = (UniqueConstraint("peer_did", "dataset_id", name="uq_harvested_dataset"),)

    id: int | None = Field(default=None, primary_key=True)
    peer_did: str = Field(max_length=512, index=True)
    dataset_id: str = Field(max_length=512)
    content_hash: str = Field(max_length=64)
    title: str = Field(default="", max_length=1024)  # for the result table: ja, else any
    title_en: str = Field(default="", max_length=1024)
    publisher: str = Field(default="", max_length=512)
    search_text: str = Field(default="")  # NFKC, case-folded titles, descriptions, keywords
    period_start: str | None = Field(default=None, max_length=10)  # ISO dates, compared as text
    period_end: str | None = Field(default=None, max_length=10)
    # The DSP JSON as harvested, canonical (sorted keys): the text its hash was taken of.
    document: str = Field(sa_column=Column(Text, nullable=False))


class HarvestedTermRow(SQLModel, table=True):
    """A facet of a harvested dataset: kind `theme`, `place`, `format` or `publisher`."""

    __tablename__ = "harvested_term"
    __table_args__ = (Index("ix_harvested_term_lookup", "kind", "iri", "dataset"),)

    dataset: int = Field(primary_key=True, foreign_key="harvested_dataset.id")
    kind: str = Field(primary_key=True, max_length=16)
    iri: str = Field(primary_key=True, max_length=512)
