"""The operator's catalogue API: publishing descriptions of our datasets, harvesting the data
space's catalogues and searching them.

    POST /management/catalog/entries      publish descriptions (Turtle, JSON-LD, RDF/XML, YAML,
                                          DSP JSON, or a portal's DCAT-AP: ckan-turtle, ...)
    POST /management/catalog/validate     the same checks, nothing stored
    GET  /management/catalog/entries/{id} a dataset as published, with its audience
    PATCH /management/catalog/entries/{id} set its titles, descriptions, keywords per language
    GET  /management/catalog/own          our whole catalogue as RDF (?format=turtle|json-ld|xml)
    POST /management/catalog/harvest      harvest peers (listed by our authorities, or named);
                                          `?stream=true` answers one JSON line per peer
    GET  /management/catalog/peers        each harvested peer: last seen, last failure
    GET  /management/catalog/search       search what was harvested
    GET  /management/catalog/sparql       read-only SPARQL over the harvested graph
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from catalog.dsp import dataset_to_json
from catalog.rdf import serialise
from connector.api.catalog_models import (
    REFUSED_BY_SHACL,
    SPARQL_BUSY,
    AskOut,
    EntryOut,
    HarvestedPeerOut,
    HarvestOut,
    PublishedOut,
    SearchOut,
    SelectOut,
)
from connector.api.deps import ConnectorDep, OperatorDep
from connector.api.schema import ERRORS_400, ERRORS_401, ERRORS_404, ERRORS_502
from connector.control.harvest import (
    Bounds,
    Harvester,
    PeerOutcome,
    PeerSource,
    harvester_for,
    sources_for,
)
from connector.control.publishing import FORMATS, Publisher, TextChange, read_descriptions
from connector.control.search import CatalogSearch, SearchRequest
from connector.control.sparql import SparqlService
from connector.errors import MessageError
from connector.store import catalog_queries as q

router = APIRouter(
    prefix="/management/catalog",
    tags=["management: catalogue"],
    dependencies=[OperatorDep],
    responses=ERRORS_401,
)

RDF_MEDIA = {
    "turtle": "text/turtle",
    "json-ld": "application/ld+json",
    "xml": "application/rdf+xml",
}


class EntriesIn(BaseModel):
    document: str = Field(max_length=16 * 1024 * 1024, description="The file's text.")
    format: str = Field(description="One of: " + ", ".join(FORMATS))
    as_: str | None = Field(
        None, alias="as", description="Publish the file's single dataset under this dataset id."
    )
    audience: list[str] = Field(
        default_factory=list,
        description="Memberships (council IRIs) whose members alone may see these datasets.",
    )
    offer_audience: dict[str, list[str]] = Field(
        default_factory=dict, description="offer id -> memberships that alone may see it"
    )


def _publisher(connector: Any) -> Publisher:
    return Publisher(connector.store, connector.catalog, connector.clock)


async def _publish(body: EntriesIn, connector: Any, *, dry_run: bool) -> dict[str, Any]:
    def work() -> list[Any]:
        datasets = read_descriptions(body.document, body.format, rename=body.as_)
        return _publisher(connector).publish(
            datasets,
            audience=body.audience,
            offer_audience=body.offer_audience,
            dry_run=dry_run,
        )

    # Parsing RDF and SHACL validation take a while: a worker thread, so the connector keeps
    # answering meanwhile.
    published = await anyio.to_thread.run_sync(work)
    return {
        "published": not dry_run,
        "datasets": [
            {"id": p.dataset_id, "created": p.created, "warnings": list(p.warnings)}
            for p in published
        ],
    }


@router.post(
    "/entries",
    status_code=201,
    response_model=PublishedOut,
    responses={**ERRORS_400, **ERRORS_404, **REFUSED_BY_SHACL},
)
async def publish_entries(body: EntriesIn, connector: ConnectorDep) -> dict[str, Any]:
    """Publish (or replace) the DCAT descriptions of datasets added before."""
    return await _publish(body, connector, dry_run=False)


@router.post(
    "/validate",
    response_model=PublishedOut,
    responses={**ERRORS_400, **ERRORS_404, **REFUSED_BY_SHACL},
)
async def validate_entries(body: EntriesIn, connector: ConnectorDep) -> dict[str, Any]:
    """Check descriptions as publishing would; nothing is stored."""
    return await _publish(body, connector, dry_run=True)


@router.get(
    "/entries/{dataset_id:path}", response_model=EntryOut, responses={**ERRORS_400, **ERRORS_404}
)
async def get_entry(dataset_id: str, connector: ConnectorDep) -> dict[str, Any]:
    """A dataset of ours as published (DSP JSON-LD), with who may see it and its offers."""

    def read() -> dict[str, Any]:
        dataset = connector.catalog.operator_view(dataset_id)
        with connector.store.transaction() as tx:
            entry = q.entry(tx.session, dataset_id)
            audience = q.audience(tx.session, dataset_id)
        return {
            "dataset": dataset_to_json(dataset, root=True),
            "described": entry is not None,
            "audience": audience,
            "offer_audience": entry.offer_audience if entry is not None else {},
        }

    return await connector.store.call(read)


class TextIn(BaseModel):
    """Text per language tag (`ja`, `en`, ...): a language named replaces that language's text
    (an empty value removes it), languages not named stay."""

    title: dict[str, Annotated[str, Field(max_length=1024)]] | None = None
    description: dict[str, Annotated[str, Field(max_length=16_384)]] | None = None
    keywords: dict[str, list[Annotated[str, Field(max_length=256)]]] | None = None


@router.patch(
    "/entries/{dataset_id:path}",
    response_model=PublishedOut,
    responses={**ERRORS_400, **ERRORS_404, **REFUSED_BY_SHACL},
)
async def change_entry_text(
    dataset_id: str, body: TextIn, connector: ConnectorDep
) -> dict[str, Any]:
    """Set the titles, descriptions or keywords of a dataset of ours in Japanese, English or
    another language, without sending its whole description again. The result is checked by
    the same shapes as any publication; its audience and offers' audiences are kept."""

    def work() -> Any:
        change = TextChange(title=body.title, description=body.description, keywords=body.keywords)
        return _publisher(connector).change_text(dataset_id, change)

    published = await anyio.to_thread.run_sync(work)
    return {
        "published": True,
        "datasets": [
            {
                "id": published.dataset_id,
                "created": published.created,
                "warnings": list(published.warnings),
            }
        ],
    }


@router.get(
    "/own",
    response_class=Response,
    responses={
        200: {
            "description": "The catalogue in the RDF syntax asked for.",
            "content": {media: {"schema": {"type": "string"}} for media in RDF_MEDIA.values()},
        },
        **ERRORS_400,
    },
)
async def own_catalog(connector: ConnectorDep, format: str = Query("turtle")) -> Response:
    """Our whole catalogue (every dataset, every offer) as DCAT RDF."""
    if format not in RDF_MEDIA:
        raise MessageError(f"format is one of {', '.join(RDF_MEDIA)}", code="unknown_format")
    catalog = await connector.store.call(connector.catalog.operator_catalog)
    text = await anyio.to_thread.run_sync(serialise, catalog, format)
    return Response(text, media_type=RDF_MEDIA[format])


# -- harvesting ---------------------------------------------------------------------------------


class PeerIn(BaseModel):
    did: str
    address: str | None = Field(None, description="Its DSP base; from its DID when absent.")


class HarvestIn(BaseModel):
    peers: list[PeerIn] = Field(default_factory=list)
    authorities: bool | None = Field(
        None,
        description="Harvest the participants our trusted authorities list (default: when no "
        "peers are named).",
    )
    deadline: float = Field(30.0, gt=0, le=600, description="Seconds per peer.")
    max_bytes: int = Field(64 * 1024 * 1024, gt=0, description="Bytes per peer.")
    attempts: int = Field(3, ge=1, le=10)
    backoff: float = Field(0.5, ge=0, le=60)


async def _sources(connector: Any, harvester: Harvester, body: HarvestIn) -> list[PeerSource]:
    return await sources_for(
        connector,
        harvester,
        named=[(p.did, p.address) for p in body.peers],
        use_authorities=bool(body.authorities or (body.authorities is None and not body.peers)),
    )


@router.post(
    "/harvest",
    response_model=HarvestOut,
    responses={
        200: {
            "description": "Each peer's outcome (NDJSON, one line a peer, with `stream=true`).",
            "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
        },
        **ERRORS_400,
        **ERRORS_502,
    },
)
async def harvest(body: HarvestIn, connector: ConnectorDep, stream: bool = Query(False)) -> Any:
    """Harvest peers' catalogues concurrently, each within its deadline and size."""
    bounds = Bounds(
        deadline=body.deadline,
        max_bytes=body.max_bytes,
        attempts=body.attempts,
        backoff=body.backoff,
    )
    harvester = harvester_for(connector, bounds)
    sources = await _sources(connector, harvester, body)
    if not stream:
        outcomes = await harvester.harvest(sources)
        return {"peers": [o.to_json() for o in outcomes]}

    async def lines() -> AsyncIterator[bytes]:
        send, receive = anyio.create_memory_object_stream[PeerOutcome](len(sources) + 1)
        yield (json.dumps({"peers": len(sources)}) + "\n").encode()

        async def run() -> None:
            async with send:
                await harvester.harvest(sources, progress=send.send)

        async with anyio.create_task_group() as group:
            group.start_soon(run)
            async with receive:
                async for outcome in receive:
                    yield (json.dumps(outcome.to_json(), ensure_ascii=False) + "\n").encode()

    return StreamingResponse(lines(), media_type="application/x-ndjson")


@router.get("/peers", response_model=list[HarvestedPeerOut])
async def harvested_peers(connector: ConnectorDep) -> list[dict[str, Any]]:
    """Each peer harvested so far: how many entries, when last seen, its last failure."""

    def read() -> list[dict[str, Any]]:
        with connector.store.transaction() as tx:
            rows = q.peers(tx.session)
        return [
            {
                "did": r.did,
                "name": r.name,
                "address": r.address,
                "entries": r.entries,
                "last_attempt_at": r.last_attempt_at.isoformat() if r.last_attempt_at else None,
                "last_seen_at": r.last_seen_at.isoformat() if r.last_seen_at else None,
                "failure_code": r.failure_code,
                "failure": r.failure,
            }
            for r in rows
        ]

    return await connector.store.call(read)


# -- search -------------------------------------------------------------------------------------


@router.get("/search", response_model=SearchOut, responses=ERRORS_400)
async def search(
    connector: ConnectorDep,
    text: str = Query("", max_length=512, alias="q"),
    theme: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI copies it)
    place: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI copies it)
    near: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI copies it)
    publisher: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI copies it)
    format: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI copies it)
    start: str | None = Query(None, alias="from", pattern=r"^\d{4}-\d{2}-\d{2}$"),
    end: str | None = Query(None, alias="to", pattern=r"^\d{4}-\d{2}-\d{2}$"),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    """Search the harvested catalogues (text ja/en, theme, place, near, publisher, format,
    period)."""
    request = SearchRequest(
        text=text,
        themes=theme,
        places=place,
        near=near,
        publishers=publisher,
        formats=format,
        start=start,
        end=end,
        limit=limit,
        offset=offset,
    )
    return await connector.store.call(CatalogSearch(connector.store).search, request)


@router.get("/sparql", response_model=SelectOut | AskOut, responses={**ERRORS_400, **SPARQL_BUSY})
async def sparql(connector: ConnectorDep, query: str = Query(max_length=20_000)) -> dict[str, Any]:
    """A read-only SPARQL query (SELECT, ASK) over the harvested graph, time- and
    size-bounded."""
    return await SparqlService.of(connector).query(query)
