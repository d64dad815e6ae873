"""The public DCAT catalogue: what anyone may see (no restricted dataset, no restricted
offer), as Turtle, JSON-LD or RDF/XML by content negotiation (`Accept`, or `?format=`).

    GET /catalog            the catalogue (Link-paged like the DSP one: ?offset=&limit=)
"""

from __future__ import annotations

import anyio
from fastapi import APIRouter, Query, Request, Response

from catalog.rdf import serialise
from connector.api.deps import ConnectorDep
from connector.api.encoding import body_response, page_links
from connector.api.schema import RDF_MEDIA, bytes_answer
from connector.control.catalog import DEFAULT_PAGE, MAX_PAGE
from connector.errors import ConnectorError

router = APIRouter(tags=["dcat"])

MEDIA = {
    "text/turtle": "turtle",
    "application/ld+json": "json-ld",
    "application/rdf+xml": "xml",
}
BY_NAME = {"turtle": "text/turtle", "json-ld": "application/ld+json", "xml": "application/rdf+xml"}


class NotAcceptable(ConnectorError):
    code = "not_acceptable"
    status = 406


def negotiate(accept: str) -> str:
    """The media type to answer with: the acceptable one with the highest q (Turtle first on
    a tie or for `*/*`)."""
    best: tuple[float, int, str] | None = None
    for order, part in enumerate(accept.split(",") if accept.strip() else ["*/*"]):
        name, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        candidates = (
            [name]
            if name in MEDIA
            else list(MEDIA)
            if name in ("*/*", "text/*", "application/*")
            else []
        )
        if name == "text/*":
            candidates = ["text/turtle"]
        if name == "application/*":
            candidates = ["application/ld+json", "application/rdf+xml"]
        for candidate in candidates:
            key = (q, -order, candidate)
            if q > 0 and (best is None or key[:2] > best[:2]):
                best = key
    if best is None:
        raise NotAcceptable(
            "the catalogue is served as text/turtle, application/ld+json or application/rdf+xml"
        )
    return best[2]


@router.get(
    "/catalog",
    **bytes_answer("The public catalogue page as RDF.", *RDF_MEDIA[:3]),
)
async def public_catalog(
    request: Request,
    connector: ConnectorDep,
    format: str | None = Query(None, description="turtle, json-ld or xml (overrides Accept)"),
    offset: int = Query(0, ge=0),
    limit: int = Query(DEFAULT_PAGE, ge=1, le=MAX_PAGE),
) -> Response:
    if format is not None and format not in BY_NAME:
        raise NotAcceptable(f"format is one of {', '.join(BY_NAME)}")
    media = BY_NAME[format] if format else negotiate(request.headers.get("accept", ""))
    page = await connector.store.call(
        connector.catalog.page, None, offset=offset, limit=limit, anonymous=True
    )
    text = await anyio.to_thread.run_sync(serialise, page.catalog, MEDIA[media])
    links = page_links(request, offset=offset, limit=limit, more=page.more)
    return body_response(
        request, text.encode(), media, headers=links | {"Vary": "Accept, Accept-Encoding"}
    )
