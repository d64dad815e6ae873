"""JSON-LD contexts pinned as package data; nothing is fetched from the network.

A document may name a context by IRI only if that IRI is pinned here. `parse_jsonld` inlines
the pinned contexts before handing the document to rdflib, so rdflib never needs to fetch.
"""

from __future__ import annotations

import copy
import functools
import json
import warnings
from importlib import resources
from typing import Any

from rdflib import Graph

from vocab.errors import ContextError
from vocab.namespaces import CONTEXT_IRI

PINNED: dict[str, str] = {CONTEXT_IRI: "tsunagu.jsonld"}
"""Context IRI -> package file under ``vocab/data/contexts``."""


@functools.cache
def _load(name: str) -> str:
    return resources.files("vocab.data.contexts").joinpath(name).read_text(encoding="utf-8")


def pinned_context(iri: str) -> dict[str, Any]:
    """The document (``{"@context": ...}``) of a pinned context; a fresh copy each call."""
    name = PINNED.get(iri)
    if name is None:
        raise ContextError(
            f"JSON-LD context {iri} is not pinned; tsunagu does not fetch contexts at run time",
            code="context_not_pinned",
        )
    document: dict[str, Any] = json.loads(_load(name))
    return document


def context_text(iri: str) -> str:
    """The pinned context's exact bytes as text, for serving it at its IRI."""
    if iri not in PINNED:
        pinned_context(iri)  # raises the explanatory error
    return _load(PINNED[iri])


def document_loader(url: str, options: object = None) -> dict[str, Any]:
    """A PyLD-style document loader that serves only pinned contexts."""
    del options
    return {"contextUrl": None, "documentUrl": url, "document": pinned_context(url)}


def inline_contexts(document: Any) -> Any:
    """A copy of `document` with every pinned context IRI replaced by the context itself."""
    return _inline(copy.deepcopy(document))


def _inline(node: Any) -> Any:
    if isinstance(node, list):
        return [_inline(item) for item in node]
    if not isinstance(node, dict):
        return node
    for key, value in list(node.items()):
        if key == "@context":
            node[key] = _inline_context(value)
        else:
            node[key] = _inline(value)
    return node


def _inline_context(value: Any) -> Any:
    if isinstance(value, str):
        return pinned_context(value)["@context"]
    if isinstance(value, list):
        return [_inline_context(item) for item in value]
    if isinstance(value, dict):
        if "@import" in value:
            raise ContextError(
                "@import in a context is not supported offline", code="context_import"
            )
        return value
    return value


def parse_jsonld(document: str | dict[str, Any] | list[Any]) -> Graph:
    """Parse JSON-LD into a graph using only pinned contexts."""
    data = json.loads(document) if isinstance(document, str) else document
    graph = Graph()
    with warnings.catch_warnings():
        # rdflib 7.6's JSON-LD parser builds a ConjunctiveGraph, which rdflib itself deprecates.
        warnings.filterwarnings(
            "ignore",
            message=r".*(ConjunctiveGraph|default_context) is deprecated",
            category=DeprecationWarning,
        )
        graph.parse(data=json.dumps(inline_contexts(data), ensure_ascii=False), format="json-ld")
    return graph
