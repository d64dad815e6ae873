"""A participant's local terms, mapped onto shared ones."""

from __future__ import annotations

from pathlib import Path

from vocab.extension import check_extension
from vocab.vocabulary import Vocabulary, load_graph_file, parse_turtle

PREFIXES = """
@prefix x: <https://town.example.jp/vocab/> .
@prefix tsu: <https://w3id.org/tsunagu/vocab/> .
@prefix property: <https://w3id.org/tsunagu/vocab/property/> .
@prefix theme: <https://w3id.org/tsunagu/vocab/theme/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
"""


def problems(vocabulary: Vocabulary, body: str) -> set[tuple[str, str, str]]:
    found = check_extension(parse_turtle(PREFIXES + body), vocabulary)
    return {(p.term.rsplit("/", 1)[1], p.severity, p.code) for p in found}


def test_the_example_extension_is_clean(vocabulary: Vocabulary, examples: Path) -> None:
    assert check_extension(load_graph_file(examples / "a-city-terms.ttl"), vocabulary) == []


def test_what_is_wrong_with_local_terms(vocabulary: Vocabulary) -> None:
    body = """
x:ok a skos:Concept ; skos:prefLabel "ok"@ja ; skos:closeMatch property:water-level .
x:lonely a skos:Concept ; skos:prefLabel "lonely"@ja .
x:typo a skos:Concept ; skos:prefLabel "typo"@ja ; skos:exactMatch property:water-levl .
x:old a skos:Concept ; skos:prefLabel "old"@ja ; skos:broadMatch theme:river .
x:bare a owl:Class ; rdfs:subClassOf tsu:Station .
tsu:Mine a owl:Class ; rdfs:label "mine"@en .
"""
    assert problems(vocabulary, body) == {
        ("lonely", "error", "unmapped_local_term"),
        ("typo", "error", "unknown_shared_term"),
        ("old", "warning", "deprecated_target"),
        ("bare", "warning", "no_label"),
        ("Mine", "error", "shared_namespace"),
    }


def test_local_terms_resolve_to_the_shared_term(vocabulary: Vocabulary) -> None:
    local = parse_turtle(
        PREFIXES + 'x:level a skos:Concept ; skos:prefLabel "水位"@ja ; '
        "skos:exactMatch property:water-level .\n"
    )
    extended = vocabulary.with_extension(local)
    prop, resolution = extended.observable_property("x:level")
    assert prop.slug == "water-level"
    assert resolution.notes == (
        "local term https://town.example.jp/vocab/level stands for "
        "https://w3id.org/tsunagu/vocab/property/water-level",
    )
    assert extended.has_term("https://town.example.jp/vocab/level")
    assert not vocabulary.has_term("https://town.example.jp/vocab/level")
