"""Answer bodies of the catalogue endpoints: compact JSON, gzip when the requester accepts it,
and `Link` headers for pages."""

from __future__ import annotations

import gzip
from typing import Any

from fastapi import Request, Response

from connector.control.catalog import encode_json

_MIN_GZIP = 1024  # smaller bodies gain nothing


def accepts_gzip(request: Request) -> bool:
    for part in request.headers.get("accept-encoding", "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*") and params.replace(" ", "") != "q=0":
            return True
    return False


def body_response(
    request: Request,
    body: bytes,
    media_type: str,
    *,
    headers: dict[str, str] | None = None,
) -> Response:
    out = dict(headers or {})
    out["Vary"] = "Accept-Encoding"
    if len(body) >= _MIN_GZIP and accepts_gzip(request):
        body = gzip.compress(body, compresslevel=5)
        out["Content-Encoding"] = "gzip"
    return Response(body, media_type=media_type, headers=out)


def json_response(
    request: Request, data: Any, *, headers: dict[str, str] | None = None
) -> Response:
    return body_response(request, encode_json(data), "application/json", headers=headers)


def page_links(request: Request, *, offset: int, limit: int, more: bool) -> dict[str, str]:
    links = []
    if more:
        url = request.url.include_query_params(offset=offset + limit, limit=limit)
        links.append(f'<{url}>; rel="next"')
    if offset > 0:
        url = request.url.include_query_params(offset=max(0, offset - limit), limit=limit)
        links.append(f'<{url}>; rel="previous"')
    return {"Link": ", ".join(links)} if links else {}
