"""Releases, deprecation with replacement, and the difference between two versions."""

from __future__ import annotations

import pytest

from vocab.errors import VocabularyError
from vocab.versioning import diff, version_of
from vocab.vocabulary import Vocabulary, parse_turtle, release_graph

HEAD = """
@prefix tsu: <https://w3id.org/tsunagu/vocab/> .
@prefix theme: <https://w3id.org/tsunagu/vocab/theme/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix dct: <http://purl.org/dc/terms/> .
<https://w3id.org/tsunagu/vocab> a owl:Ontology ; owl:versionInfo "{version}" .
"""
T = "https://w3id.org/tsunagu/vocab/theme/"


def graph(version: str, body: str) -> object:
    return parse_turtle(HEAD.replace("{version}", version) + body)


def test_the_shipped_releases_differ_as_recorded() -> None:
    result = diff(release_graph("0.1.0"), release_graph("current"))
    assert (result.old_version, result.new_version) == ("0.1.0", "0.2.0")
    assert result.removed == ()
    assert T + "shelter" in result.added and T + "river-water-level" in result.added
    deprecated = {d.term: d.replacement for d in result.deprecated}
    assert deprecated[T + "river"] == T + "river-water-level"
    labels = {(c.term, c.predicate, c.language): (c.before, c.after) for c in result.labels}
    assert labels[(T + "evacuation-order", "skos:prefLabel", "ja")] == (("避難",), ("避難情報",))
    changes = {(c.term.rsplit("/", 1)[1], c.predicate, c.change) for c in result.mappings}
    assert ("water-level", "skos:exactMatch", "removed") in changes
    assert ("water-level", "skos:closeMatch", "added") in changes
    text = result.text()
    assert "theme:river -> theme:river-water-level" in text and "vocabulary 0.1.0 -> 0.2.0" in text
    assert result.as_dict()["deprecated"][0]["replacement"]


def test_each_kind_of_change_is_reported() -> None:
    old = graph(
        "1",
        'theme:a a skos:Concept ; skos:prefLabel "A"@en .\n'
        'theme:b a skos:Concept ; skos:prefLabel "B"@en ; skos:closeMatch <https://x.org/b> .\n'
        'theme:gone a skos:Concept ; skos:prefLabel "Gone"@en .\n',
    )
    new = graph(
        "2",
        'theme:a a skos:Concept ; skos:prefLabel "A2"@en ; owl:deprecated true ; dct:isReplacedBy theme:c .\n'
        'theme:b a skos:Concept ; skos:prefLabel "B"@en ; skos:exactMatch <https://x.org/b> .\n'
        'theme:c a skos:Concept ; skos:prefLabel "C"@en .\n',
    )
    result = diff(old, new)  # type: ignore[arg-type]
    assert result.added == (T + "c",)
    assert result.removed == (T + "gone",)
    assert [(d.term, d.replacement) for d in result.deprecated] == [(T + "a", T + "c")]
    assert [(c.term, c.before, c.after) for c in result.labels] == [(T + "a", ("A",), ("A2",))]
    assert [(c.predicate, c.change) for c in result.mappings] == [
        ("skos:closeMatch", "removed"),
        ("skos:exactMatch", "added"),
    ]
    assert result.notes  # removing a term is called out
    assert not result.is_empty and diff(new, new).is_empty  # type: ignore[arg-type]


def test_versions_are_read_from_the_ontology_header() -> None:
    assert version_of(release_graph("0.1.0")) == ("0.1.0", "https://w3id.org/tsunagu/vocab/0.1.0")
    assert version_of(parse_turtle("")) == ("unknown", None)


def test_deprecated_terms_resolve_to_their_replacement(vocabulary: Vocabulary) -> None:
    resolution = vocabulary.resolve("theme:river")
    assert resolution.iri == T + "river-water-level"
    assert "deprecated" in resolution.notes[0]
    assert vocabulary.resolve("evacuation:evacuation-advisory").iri.endswith(
        "evacuation-instruction"
    )


def test_replacement_cycles_are_caught() -> None:
    looped = Vocabulary(
        graph(
            "1",
            "theme:a a skos:Concept ; owl:deprecated true ; dct:isReplacedBy theme:b .\n"
            "theme:b a skos:Concept ; owl:deprecated true ; dct:isReplacedBy theme:a .\n",
        )  # type: ignore[arg-type]
    )
    with pytest.raises(VocabularyError) as caught:
        looped.resolve(T + "a")
    assert caught.value.code == "replacement_cycle"


def test_unknown_terms_do_not_resolve(vocabulary: Vocabulary) -> None:
    with pytest.raises(VocabularyError) as caught:
        vocabulary.resolve("theme:volcano")
    assert caught.value.code == "unknown_term"
