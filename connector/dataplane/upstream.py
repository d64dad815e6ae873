"""The owner's HTTP(S) API as a source, read with aiohttp.

aiohttp rather than httpx (which the control plane uses): on this machine a proxy that reads
its upstream with httpx reached about a fifth of nginx's throughput, one reading with aiohttp
about two thirds, and small proxied requests ran six times faster (see docs/dataplane.md).

The owner's credentials (`headers`) are added here and never leave the provider; the consumer's
own Authorization never reaches the owner. Only allowed sub-paths (`allowPaths`, glob patterns)
and query parameters (`allowQuery`) pass; fixed parameters (`query`) are always added.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
from collections.abc import Sequence
from urllib.parse import quote

import aiohttp

from connector.dataplane.errors import (
    BackendTimeout,
    BackendUnavailable,
    BadDataRequest,
    RangeNotSatisfiable,
    SourceMisconfigured,
)
from connector.dataplane.sources import Body, DataRequest, SourceSpec, clean_subpath, only_params
from connector.errors import NotFound

log = logging.getLogger("tsunagu.dataplane")
CHUNK = 1 << 20
PASSED_HEADERS = (
    "Content-Type",
    "Content-Length",
    "Content-Range",
    "Content-Encoding",
    "Accept-Ranges",
    "ETag",
    "Last-Modified",
    "Tsunagu-Attribution",  # an `attribute` duty of the agreement (connector.policy.duties)
)


class HttpClient:
    """One aiohttp session per connector, created in the running loop on first use."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    def session(self) -> aiohttp.ClientSession:
        if self._closed:
            # A read still running at shutdown would otherwise open a session nobody closes.
            raise BackendUnavailable("the connector is shutting down", code="shutting_down")
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                # Bytes pass through as the owner encoded them; Accept-Encoding is ours to set.
                auto_decompress=False,
                connector=aiohttp.TCPConnector(limit=256, ttl_dns_cache=60),
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    async def aclose(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None


class ResponseChunks:
    """The body of an upstream response; closing it hands the connection back."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    def __aiter__(self) -> ResponseChunks:
        return self

    async def __anext__(self) -> bytes:
        chunk = await self._response.content.read(CHUNK)
        if not chunk:
            self._response.release()
            raise StopAsyncIteration
        return chunk

    async def aclose(self) -> None:
        if not self._response.closed:
            self._response.close()


def upstream_url(spec: SourceSpec, request: DataRequest) -> tuple[str, list[tuple[str, str]]]:
    base = spec.text("baseUrl").rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise SourceMisconfigured("baseUrl must be an http:// or https:// URL")
    sub = clean_subpath(request.subpath)
    if sub and not any(fnmatch.fnmatchcase(sub, p) for p in spec.names("allowPaths")):
        raise BadDataRequest(f"the sub-path {sub!r} is not allowed", code="path_not_allowed")
    params = only_params(request.query, spec.names("allowQuery"))
    params += list(spec.mapping("query").items())
    return (f"{base}/{quote(sub, safe='/')}" if sub else base), params


async def request_upstream(
    http: HttpClient,
    spec: SourceSpec,
    url: str,
    params: Sequence[tuple[str, str]],
    headers: dict[str, str],
) -> aiohttp.ClientResponse:
    """GET the owner's resource; failures before the response are 502 / 504."""
    timeout = spec.number("timeoutSeconds", 30.0)
    secret = spec.mapping("headers")
    try:
        return await http.session().get(
            url,
            params=list(params),
            headers={**headers, **secret},
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=min(timeout, 10.0), sock_read=timeout
            ),
        )
    except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
        log.warning("owner backend %s timed out: %s", url, exc)
        raise BackendTimeout(f"the owner's system did not answer within {timeout:g} s") from exc
    except (aiohttp.ClientError, OSError, asyncio.IncompleteReadError) as exc:
        log.warning("owner backend %s unreachable: %s", url, exc)
        raise BackendUnavailable(
            f"the owner's system cannot be reached ({exc.__class__.__name__})"
        ) from exc


async def open_http(http: HttpClient, spec: SourceSpec, request: DataRequest) -> Body:
    url, params = upstream_url(spec, request)
    headers = {"Accept-Encoding": request.accept_encoding or "identity"}
    if request.range:
        headers["Range"] = request.range
    if request.accept and not (request.wants_events or request.wants_ndjson):
        headers["Accept"] = request.accept
    response = await request_upstream(http, spec, url, params, headers)
    status = response.status
    if status >= 300:
        response.release()
        if status in (404, 410):
            raise NotFound("the owner's system has no such resource", code="no_such_resource")
        if status == 416:
            size = response.headers.get("Content-Range", "*/0").rpartition("/")[2]
            raise RangeNotSatisfiable(
                "the range is outside the resource", size=int(size) if size.isdigit() else 0
            )
        log.warning("owner backend %s answered %s", url, status)
        raise BackendUnavailable(f"the owner's system answered {status}")
    passed = {h: response.headers[h] for h in PASSED_HEADERS if h in response.headers}
    return Body(ResponseChunks(response), status=status, headers=passed)
