"""What the management API promises in its OpenAPI document: the error body every failure
has, and the error statuses an operation can answer with (`responses=` on each route)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from pydantic import BaseModel, Field

from connector.protocol.base import Message, message_schema


class ErrorDetail(BaseModel):
    code: str = Field(description="A snake_case code to act on, e.g. `offer_id_taken`.")
    message: str = Field(description="What is wrong and what to do about it.")


class ErrorOut(BaseModel):
    """Every management API error: `{"error": {"code", "message"}}`."""

    error: ErrorDetail


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorOut, "description": description}


ERRORS_400: dict[int | str, dict[str, Any]] = {
    400: _error("The request is malformed or its content is unusable (see `code`).")
}
ERRORS_401: dict[int | str, dict[str, Any]] = {
    401: _error("No or a wrong management token (`operator_unauthenticated`).")
}
ERRORS_404: dict[int | str, dict[str, Any]] = {404: _error("No such resource.")}
ERRORS_409: dict[int | str, dict[str, Any]] = {
    409: _error("The request clashes with what is stored (an id taken, a resource in use).")
}
ERRORS_502: dict[int | str, dict[str, Any]] = {
    502: _error("A peer could not be reached or answered badly.")
}


def errors(*pairs: tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """Error statuses particular to one operation, each with what it means there."""
    return {status: _error(description) for status, description in pairs}


def publish_true_statuses(app: FastAPI) -> None:
    """The OpenAPI document as the app answers: a request that fails validation is a 400 with
    the operator error body on the management API (`api/errors.py`), not FastAPI's 422."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            for path, operations in spec.get("paths", {}).items():
                if not path.startswith("/management"):
                    continue
                for operation in operations.values():
                    responses = operation.get("responses", {})
                    # FastAPI's own 422 (its validation error body) is never sent; a 422 an
                    # operation declares (publishing refused by SHACL) is.
                    if "HTTPValidationError" in str(responses.get("422", "")):
                        del responses["422"]
                        responses.setdefault("400", _BAD_REQUEST)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


_BAD_REQUEST = {
    "description": "The request is malformed or its content is unusable (see `code`).",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
}


# -- answers that are not a JSON record ----------------------------------------------------------

RDF_MEDIA = ("text/turtle", "application/ld+json", "application/rdf+xml", "text/html")


def bytes_answer(description: str, *media: str, status: int = 200) -> dict[str, Any]:
    """Route options for an operation that answers with bytes (data, RDF, a page): its media
    types instead of FastAPI's default of an untyped JSON object."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {
        "response_class": Response,
        "responses": {
            status: {"description": description, "content": dict.fromkeys(media, binary)}
        },
    }


def no_body(description: str) -> dict[str, Any]:
    """Route options for an operation that answers with a status alone."""
    return {"response_class": Response, "responses": {200: {"description": description}}}


def dsp_body(*models: type[Message]) -> dict[str, Any]:
    """Route options for an endpoint that reads a DSP message (the handler reads the raw
    body itself, for its size limit and exact errors): the message's schema, or one of
    several, in the OpenAPI document."""
    schemas = [message_schema(model) for model in models]
    schema = schemas[0] if len(schemas) == 1 else {"oneOf": schemas}
    return {
        "openapi_extra": {
            "requestBody": {
                "required": True,
                "description": "A DSP 2025-1 message in compact JSON-LD.",
                "content": {"application/json": {"schema": schema}},
            }
        }
    }


def json_body(description: str) -> dict[str, Any]:
    """Route options for an endpoint that reads a JSON object its service checks field by
    field (tsunagu's protocol extensions): the object, said in words."""
    return {
        "openapi_extra": {
            "requestBody": {
                "required": True,
                "description": description,
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        }
    }


def dsp_answer(kind: str, *, status: int = 200) -> dict[str, Any]:
    """Route options for a DSP answer: a JSON-LD object of type `kind` (its full schema is the
    Dataspace Protocol's, in shared/dsp)."""
    schema = {
        "type": "object",
        "required": ["@type"],
        "properties": {"@type": {"const": kind}},
        "additionalProperties": True,
    }
    return {
        "responses": {
            status: {
                "description": f"The DSP {kind} as it is now (Dataspace Protocol 2025-1).",
                "content": {"application/json": {"schema": schema}},
            }
        }
    }
