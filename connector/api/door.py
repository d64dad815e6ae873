"""Input limits at the door, for every router: what the path, the query and an operator's JSON
body may hold, and the bounded types the request models use. A peer's DSP body is checked as
it is read (`connector.api.body`); the rules themselves are in `connector.protocol.identifiers`.

Checked before any handler runs, so a database never sees a NUL (PostgreSQL refuses it), a
lone surrogate (no store can encode it) or an integer past 64 bits (SQLite overflows)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import unquote_plus

from fastapi import Query, Request
from pydantic import AfterValidator, Field, StringConstraints

from connector.errors import MessageError
from connector.protocol.identifiers import (
    MAX_ADDRESS,
    MAX_IDENTIFIER,
    MAX_NAME,
    check_identifier,
    check_storable,
    has_control,
)
from connector.settings import DSP_PATH

NO_CONTROL = r"^[^\x00-\x1f\x7f-\x9f]*$"
"""The OpenAPI's word for it: what identifiers, addresses, path and query parameters may not
hold (a lone surrogate cannot be spelt in a URL, and JSON bodies are checked for it apart)."""

MAX_OFFSET = 2**31 - 1
"""Paging offsets and sequence numbers: far past any real list, well inside every database's
integer."""

# Bodies read as a stream elsewhere: the DSP endpoints (capped, checked in api.body) and the
# data plane (push sinks stream a dataset's contents).
_STREAMED = (DSP_PATH + "/", "/data/")


async def check_request(request: Request) -> None:
    """An app-wide dependency: the decoded path and query hold no control characters, and an
    operator's JSON body holds only storable strings."""
    if has_control(request.url.path):
        raise MessageError(
            "the request path contains a control character or NUL", code="invalid_characters"
        )
    query = request.scope.get("query_string", b"").decode("latin-1")
    if query and has_control(unquote_plus(query)):
        raise MessageError(
            "the query string contains a control character or NUL", code="invalid_characters"
        )
    if (
        request.method in ("POST", "PUT", "PATCH")
        and "json" in request.headers.get("content-type", "")
        and not request.url.path.startswith(_STREAMED)
    ):
        try:
            data = await request.json()  # FastAPI has read and parsed it already: cached
        except ValueError:
            return  # FastAPI answers malformed JSON itself
        check_storable(data)


def _identifier(value: str) -> str:
    return check_identifier(value, "the identifier")


def _name(value: str) -> str:
    return check_identifier(value, "the identifier", limit=MAX_NAME)


def _address(value: str) -> str:
    return check_identifier(value, "the address", limit=MAX_ADDRESS)


# The request models' strings that are stored or used as keys and addresses: too long is a
# validation error (400 `invalid_request`), a control character 400 `invalid_characters`.
_DECLARED = Field(json_schema_extra={"pattern": NO_CONTROL})
Identifier = Annotated[
    str, StringConstraints(max_length=MAX_IDENTIFIER), AfterValidator(_identifier), _DECLARED
]
Name = Annotated[str, StringConstraints(max_length=MAX_NAME), AfterValidator(_name), _DECLARED]
"""Dataset and offer ids, DIDs (an `Identifier` is a pid, an agreement id or a code)."""
Address = Annotated[
    str, StringConstraints(max_length=MAX_ADDRESS), AfterValidator(_address), _DECLARED
]


def declare_parameter_limits(spec: dict[str, Any]) -> None:
    """Say in the OpenAPI what `check_request` refuses: no control characters in a string
    path or query parameter."""
    for item in spec.get("paths", {}).values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                for schema in _string_schemas(parameter.get("schema", {})):
                    schema.setdefault("pattern", NO_CONTROL)


def _string_schemas(schema: dict[str, Any]) -> list[dict[str, Any]]:
    if schema.get("type") == "string":
        return [schema]
    if schema.get("type") == "array":
        return _string_schemas(schema.get("items", {}))
    return [s for option in schema.get("anyOf", []) for s in _string_schemas(option)]


OffsetQuery = Query(0, ge=0, le=MAX_OFFSET, description="Items to skip.")
