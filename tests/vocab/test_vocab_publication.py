"""Content negotiation and the three renderings of the vocabulary."""

from __future__ import annotations

import json

import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from vocab.contexts import parse_jsonld
from vocab.publication import HTML, JSONLD, TURTLE, negotiate, serialise
from vocab.vocabulary import Vocabulary


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, TURTLE),
        ("", TURTLE),
        ("*/*", TURTLE),
        ("text/turtle", TURTLE),
        ("application/ld+json", JSONLD),
        ("application/json", JSONLD),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", HTML),
        ("application/ld+json;q=0.5, text/turtle;q=0.9", TURTLE),
        ("text/*", TURTLE),
        ("text/*;q=0.5, application/ld+json", JSONLD),
        ("image/png", None),
        ("text/turtle;q=0", None),
        ("text/turtle;q=abc, text/html", HTML),
    ],
)
def test_negotiation(accept: str | None, chosen: str | None) -> None:
    assert negotiate(accept) == chosen


def test_turtle_and_json_ld_say_the_same_thing(vocabulary: Vocabulary) -> None:
    description = vocabulary.describe("https://w3id.org/tsunagu/vocab/threshold/flood-caution")
    turtle = Graph().parse(data=serialise(description, TURTLE), format="turtle")
    document = json.loads(serialise(description, JSONLD))
    assert isinstance(document["@context"], dict)  # inline: nothing to fetch
    assert isomorphic(turtle, description)
    assert isomorphic(parse_jsonld(document), description)


def test_html_links_shared_terms_to_their_paths_and_escapes_text(
    vocabulary: Vocabulary,
) -> None:
    page = serialise(
        vocabulary.describe("https://w3id.org/tsunagu/vocab/theme/river"),
        HTML,
        title="<river>",
        base_path="/vocab",
    )
    assert page.startswith("<!DOCTYPE html>")
    assert "&lt;river&gt;" in page and "<river>" not in page
    assert 'href="/vocab/theme/river-water-level"' in page
    assert "deprecated" in page
