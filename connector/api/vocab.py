"""Serving the shared vocabulary at stable paths, with content negotiation.

    GET /vocab                      the vocabulary the connector uses (shared + local terms)
    GET /vocab/{version}            an archived or the current release, e.g. /vocab/0.1.0
    GET /vocab/shapes               the SHACL shapes for the payloads exchanged
    GET /vocab/context.jsonld       the pinned JSON-LD context of shared-model records
    GET /vocab/term?iri=...         any term by IRI, local terms included
    GET /vocab/{path}               the term https://w3id.org/tsunagu/vocab/{path}

Each answers Turtle, JSON-LD or HTML (for a browser) by the Accept header; ``?format=ttl|jsonld|
html`` overrides it. Unknown terms are 404, unacceptable media types 406. Everything is built
from package data: nothing is fetched.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from rdflib import Graph

from connector.api.schema import RDF_MEDIA, bytes_answer
from vocab.contexts import context_text
from vocab.errors import VocabularyError
from vocab.namespaces import BASE, CONTEXT_IRI
from vocab.publication import CONTENT_TYPES, FORMAT_NAMES, OFFERED, negotiate, serialise
from vocab.vocabulary import (
    Vocabulary,
    load_vocabulary,
    release_graph,
    releases,
    shapes_graph,
)

_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
_IMMUTABLE = "public, max-age=31536000, immutable"
_CURRENT = "public, max-age=300"
_RDF = bytes_answer("RDF in the format asked for (?format= or Accept), or a page.", *RDF_MEDIA)


def vocab_router(*, vocabulary: Vocabulary | None = None, prefix: str = "/vocab") -> APIRouter:
    """Routes serving `vocabulary` (default: the shared one) below `prefix`."""
    router = APIRouter(prefix=prefix, tags=["vocabulary"])

    def current() -> Vocabulary:
        return vocabulary or load_vocabulary()

    @router.get("", summary="The vocabulary this connector uses", **_RDF)
    def whole(request: Request, format: str | None = Query(None)) -> Response:
        vocab = current()
        title = f"tsunagu 共有語彙 / shared vocabulary {vocab.version}"
        return _negotiated(request, format, vocab.graph, title, prefix, _CURRENT)

    @router.get(
        "/context.jsonld",
        summary="Pinned JSON-LD context of shared-model records",
        **bytes_answer("The JSON-LD context.", "application/ld+json"),
    )
    def context() -> Response:
        return Response(
            context_text(CONTEXT_IRI),
            media_type="application/ld+json",
            headers={"Cache-Control": _CURRENT},
        )

    @router.get("/shapes", summary="SHACL shapes for readings and stations", **_RDF)
    def shapes(request: Request, format: str | None = Query(None)) -> Response:
        return _negotiated(
            request, format, shapes_graph(), "tsunagu SHACL shapes", prefix, _CURRENT
        )

    @router.get("/term", summary="Any term by IRI, local terms included", **_RDF)
    def term(request: Request, iri: str = Query(...), format: str | None = Query(None)) -> Response:
        return _term(request, format, current(), iri, prefix)

    @router.get("/{path:path}", summary="A release (/vocab/0.1.0) or a shared term", **_RDF)
    def by_path(request: Request, path: str, format: str | None = Query(None)) -> Response:
        if _VERSION.match(path):
            if path not in releases():
                return _problem(404, "unknown_release", f"no release {path}")
            title = f"tsunagu shared vocabulary {path}"
            cache = _CURRENT if path == current().version else _IMMUTABLE
            return _negotiated(request, format, release_graph(path), title, prefix, cache)
        return _term(request, format, current(), BASE + path.strip("/"), prefix)

    return router


def _term(
    request: Request, format: str | None, vocabulary: Vocabulary, iri: str, prefix: str
) -> Response:
    description = vocabulary.describe(iri)
    if not len(description):
        return _problem(404, "unknown_term", f"{iri} is not a term of this vocabulary")
    title = vocabulary.label(iri, "ja") or vocabulary.label(iri, "en") or iri
    response = _negotiated(request, format, description, title, prefix, _CURRENT)
    if vocabulary.is_deprecated(iri):
        try:
            resolved = vocabulary.resolve(iri).iri
        except VocabularyError:
            resolved = iri
        if resolved != iri:
            response.headers["Link"] = f'<{resolved}>; rel="successor-version"'
    return response


def _negotiated(
    request: Request, format: str | None, graph: Graph, title: str, prefix: str, cache: str
) -> Response:
    if format is not None:
        media = FORMAT_NAMES.get(format.lower())
        if media is None:
            return _problem(
                406, "not_acceptable", f"format {format!r}: use one of {sorted(FORMAT_NAMES)}"
            )
    else:
        media = negotiate(request.headers.get("accept"), OFFERED)
        if media is None:
            return _problem(406, "not_acceptable", f"this resource is available as {list(OFFERED)}")
    body = serialise(graph, media, title=title, base_path=prefix)
    return Response(
        body,
        media_type=CONTENT_TYPES[media],
        headers={"Vary": "Accept", "Cache-Control": cache},
    )


def _problem(status: int, code: str, detail: str) -> Response:
    return JSONResponse({"code": code, "detail": detail}, status_code=status)
