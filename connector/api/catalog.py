"""DSP catalogue protocol (provider side): the catalogue built for the requester.

`POST /catalog/request` takes `?offset=&limit=` (default 100, at most 1000) and answers with
`Link: <...>; rel="next"` / `rel="previous"` headers (RFC 8288) as DSP 2025-1 suggests; the
message's `filter` follows `catalog.filters`. Answers are gzip-compressed for requesters that
accept it.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response

from catalog.dsp import dataset_to_json
from catalog.filters import parse_filter
from connector.api.deps import ConnectorDep, PeerDep, message
from connector.api.encoding import body_response, json_response, page_links
from connector.api.schema import dsp_answer, dsp_body
from connector.control.catalog import DEFAULT_PAGE, MAX_PAGE
from connector.errors import NotFound
from connector.protocol.messages import CatalogRequestMessage
from connector.settings import DSP_PATH

router = APIRouter(prefix=DSP_PATH + "/catalog", tags=["dsp: catalog"])


@router.post("/request", **dsp_answer("Catalog"), **dsp_body(CatalogRequestMessage))
async def catalog_request(
    request: Request,
    connector: ConnectorDep,
    peer: PeerDep,
    offset: int = Query(0, ge=0),
    limit: int = Query(DEFAULT_PAGE, ge=1, le=MAX_PAGE),
) -> Response:
    """The catalogue this peer may see, one page at a time."""
    msg = await message(request, CatalogRequestMessage)
    wanted = parse_filter(msg.filter)
    page = await connector.store.call(
        connector.catalog.page, peer, filter=wanted, offset=offset, limit=limit
    )
    links = page_links(request, offset=offset, limit=limit, more=page.more)
    body = connector.catalog.catalog_bytes(page.catalog)
    return body_response(request, body, "application/json", headers=links)


@router.get("/datasets/{dataset_id:path}", **dsp_answer("Dataset"))
async def dataset(
    dataset_id: str, request: Request, connector: ConnectorDep, peer: PeerDep
) -> Response:
    """One dataset with the offers this peer may see; hidden and unknown answer alike."""
    try:
        found = await connector.store.call(connector.catalog.dataset, dataset_id, peer)
    except NotFound:
        raise NotFound(f"no dataset {dataset_id!r}", code="unknown_dataset") from None
    return json_response(request, dataset_to_json(found, root=True))
