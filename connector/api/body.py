"""Reading a peer's JSON body within limits: size cap (streamed, so chunked bodies are capped
too), JSON syntax, nesting depth, strings a store can hold. Anything outside them is a clear
4xx, never a 500."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from connector.api.errors import BodyTooLarge
from connector.errors import MessageError
from connector.protocol.identifiers import check_storable

MAX_DEPTH = 32


async def read_json(request: Request, *, limit: int) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"the body is over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"the body is over {limit} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw:
        raise MessageError("the request has no body", code="invalid_json")
    try:
        data = json.loads(raw)
    except RecursionError:
        raise MessageError("the JSON is nested too deeply", code="too_deep") from None
    except ValueError as exc:  # includes UnicodeDecodeError and over-long integers
        raise MessageError(f"the body is not valid JSON: {exc}", code="invalid_json") from None
    check_depth(data)
    check_storable(data)  # before the error handlers may echo a pid from it
    request.state.dsp_body = data
    return data


def check_depth(data: Any, limit: int = MAX_DEPTH) -> None:
    """Iterative, so a hostile document cannot exhaust the stack here either."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise MessageError(f"the JSON is nested more than {limit} levels deep", code="too_deep")
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
