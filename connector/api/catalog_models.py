"""What the catalogue part of the management API answers (publishing, harvest, search), as
typed models for its OpenAPI document. Times stay the text the connector wrote (ISO 8601)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from connector.api.schema import errors

REFUSED_BY_SHACL = errors(
    (
        422,
        "A description breaks the DCAT-AP / tsunagu shapes (`invalid_entry`); "
        "`error.problems` lists each violation.",
    )
)
SPARQL_BUSY = errors((503, "Another query is running or this one ran out of time."))


class PublishedDatasetOut(BaseModel):
    id: str
    created: bool = Field(description="False when an earlier description was replaced.")
    warnings: list[str] = Field(description="What the shapes only warn about.")


class PublishedOut(BaseModel):
    published: bool = Field(description="False for `validate`: nothing was stored.")
    datasets: list[PublishedDatasetOut]


class EntryOut(BaseModel):
    dataset: dict[str, Any] = Field(description="The dataset as DSP JSON-LD, with its offers.")
    described: bool = Field(description="Whether a DCAT description was published for it.")
    audience: list[str] = Field(description="Memberships that alone may see it (none: all).")
    offer_audience: dict[str, list[str]] = Field(description="offer id -> memberships")


class PeerOutcomeOut(BaseModel):
    did: str
    ok: bool
    entries: int
    changed: int
    removed: int
    unchanged: int
    failure_code: str | None
    failure: str | None
    seconds: float

    model_config = ConfigDict(extra="allow")


class HarvestOut(BaseModel):
    """With `?stream=true`, NDJSON instead: `{"peers": n}`, then one outcome a line."""

    peers: list[PeerOutcomeOut]


class HarvestedPeerOut(BaseModel):
    did: str
    name: str | None
    address: str | None
    entries: int
    last_attempt_at: str | None
    last_seen_at: str | None
    failure_code: str | None
    failure: str | None


class NegotiateOut(BaseModel):
    provider: str
    dataset: str


class HitOut(BaseModel):
    dataset: str
    title: str | None
    title_en: str | None
    publisher: str | None
    provider: str = Field(description="The provider's DID.")
    provider_address: str | None
    themes: list[str]
    places: list[str]
    period: list[str | None] = Field(description="[start, end] (dates), either may be null.")
    negotiate: NegotiateOut = Field(description="What `tsunagu negotiate` needs.")

    model_config = ConfigDict(extra="allow")


class SearchOut(BaseModel):
    total: int = Field(description="Matches in all; `cap` + 1 means more than `cap`.")
    cap: int
    offset: int
    hits: list[HitOut]


class SelectOut(BaseModel):
    vars: list[str]
    rows: list[dict[str, str | None]]
    truncated: bool = Field(description="More rows matched than are answered.")


class AskOut(BaseModel):
    boolean: bool
