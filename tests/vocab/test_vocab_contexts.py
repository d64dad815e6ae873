"""JSON-LD contexts are pinned; nothing is fetched."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import XSD

from vocab.contexts import (
    context_text,
    document_loader,
    inline_contexts,
    parse_jsonld,
    pinned_context,
)
from vocab.errors import ContextError
from vocab.namespaces import CONTEXT_IRI


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("tried to open a network connection")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    yield


def test_the_records_context_is_pinned() -> None:
    context = pinned_context(CONTEXT_IRI)["@context"]
    assert context["resultTime"] == {"@id": "sosa:resultTime", "@type": "xsd:dateTime"}
    assert context["value"]["@type"] == "xsd:double"
    assert context_text(CONTEXT_IRI).lstrip().startswith("{")
    assert document_loader(CONTEXT_IRI)["document"]["@context"] == context


@pytest.mark.parametrize(
    "iri",
    ["https://imi.go.jp/ns/core/context.jsonld", "https://w3id.org/dspace/2025/1/context.jsonld"],
)
@pytest.mark.usefixtures("no_network")
def test_anything_else_is_refused_not_fetched(iri: str) -> None:
    with pytest.raises(ContextError) as caught:
        parse_jsonld({"@context": iri, "@id": "https://e.org/x"})
    assert caught.value.code == "context_not_pinned"


@pytest.mark.usefixtures("no_network")
def test_documents_parse_offline_through_the_pinned_context() -> None:
    document = {
        "@context": CONTEXT_IRI,
        "id": "https://e.org/r1",
        "type": ["Observation", "WaterLevelObservation"],
        "resultTime": "2024-09-01T09:10:00+09:00",
        "hasResult": {"value": 3.62, "unit": "http://qudt.org/vocab/unit/M"},
    }
    graph = parse_jsonld(document)
    assert (
        URIRef("https://e.org/r1"),
        URIRef("http://www.w3.org/ns/sosa/resultTime"),
        Literal("2024-09-01T09:10:00+09:00", datatype=XSD.dateTime),
    ) in graph
    values = list(graph.objects(None, URIRef("http://qudt.org/schema/qudt/value")))
    assert values == [Literal(3.62, datatype=XSD.double)]


def test_inlining_leaves_the_original_untouched() -> None:
    document = {"@context": [CONTEXT_IRI, {"ex": "https://e.org/"}], "@graph": []}
    inlined = inline_contexts(document)
    assert document["@context"][0] == CONTEXT_IRI
    assert isinstance(inlined["@context"][0], dict)
