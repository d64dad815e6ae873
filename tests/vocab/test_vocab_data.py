"""The packaged vocabulary itself: it parses, it is labelled, it links where it says."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import OWL, RDF, SKOS

from vocab.namespaces import BASE, is_shared_term
from vocab.versioning import diff
from vocab.vocabulary import (
    MAPPING_PREDICATES,
    MODULES,
    Vocabulary,
    parse_turtle,
    release_graph,
    releases,
    shapes_graph,
)

_FORBIDDEN = re.compile(r"[\s<>\"{}|\\^`]")


def well_formed_iri(iri: str) -> bool:
    """An absolute http(s) IRI with a host, or a urn, with no character IRIs forbid."""
    if _FORBIDDEN.search(iri):
        return False
    parts = urlsplit(iri)
    if parts.scheme in ("http", "https"):
        return bool(parts.netloc) and "." in parts.netloc
    return parts.scheme == "urn" and bool(parts.path)


def test_every_module_parses(vocabulary: Vocabulary) -> None:
    from importlib import resources

    for name in MODULES:
        graph = parse_turtle(resources.files("vocab.data").joinpath(name).read_text("utf-8"))
        assert len(graph) > 10, name
    assert len(shapes_graph()) > 50
    assert vocabulary.version == "0.2.0"
    assert vocabulary.version_iri == BASE + "0.2.0"


def test_every_concept_has_one_japanese_and_one_english_label(vocabulary: Vocabulary) -> None:
    concepts = set(vocabulary.graph.subjects(RDF.type, SKOS.Concept))
    concepts |= set(vocabulary.graph.subjects(RDF.type, SKOS.ConceptScheme))
    assert len(concepts) > 60
    for concept in concepts:
        labels = [
            label
            for label in vocabulary.graph.objects(concept, SKOS.prefLabel)
            if isinstance(label, Literal)
        ]
        languages = sorted(label.language or "" for label in labels)
        assert languages == ["en", "ja"], concept


def test_every_class_and_property_of_ours_is_labelled_in_both_languages(
    vocabulary: Vocabulary,
) -> None:
    for kind in (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty):
        for term in vocabulary.graph.subjects(RDF.type, kind):
            assert vocabulary.label(str(term), "ja"), term
            assert vocabulary.label(str(term), "en"), term


def test_every_concept_belongs_to_a_scheme(vocabulary: Vocabulary) -> None:
    schemes = set(vocabulary.concept_schemes())
    for concept in vocabulary.graph.subjects(RDF.type, SKOS.Concept):
        if not is_shared_term(str(concept)):
            continue
        assert set(vocabulary.graph.objects(concept, SKOS.inScheme)) & schemes, concept


def test_broader_and_narrower_mirror_each_other(vocabulary: Vocabulary) -> None:
    graph = vocabulary.graph
    pairs = list(graph.subject_objects(SKOS.broader))
    assert len(pairs) > 10
    for narrow, broad in pairs:
        assert (broad, SKOS.narrower, narrow) in graph, (narrow, broad)
    for broad, narrow in graph.subject_objects(SKOS.narrower):
        assert (narrow, SKOS.broader, broad) in graph, (broad, narrow)


def test_the_disaster_themes_the_data_space_needs_are_there(vocabulary: Vocabulary) -> None:
    themes = {vocabulary.label(str(c), "en") for c in vocabulary.concepts_in(BASE + "ThemeScheme")}
    for needed in (
        "Disaster prevention",
        "Flood",
        "River water level",
        "Rainfall",
        "Evacuation orders",
        "Shelters",
        "Mobility",
        "Tourism",
        "Health",
        "Energy",
        "Infrastructure",
        "Administration",
    ):
        assert needed in themes


def test_every_mapping_target_is_a_well_formed_iri(vocabulary: Vocabulary) -> None:
    targets = [
        (subject, predicate, target)
        for predicate in MAPPING_PREDICATES
        for subject, target in vocabulary.graph.subject_objects(predicate)
    ]
    assert len(targets) > 20
    for subject, predicate, target in targets:
        assert isinstance(target, URIRef), (subject, predicate, target)
        assert well_formed_iri(str(target)), target
        if is_shared_term(str(target)):
            assert vocabulary.has_term(str(target)), (subject, predicate, target)


def test_the_iri_check_itself_rejects_bad_iris() -> None:
    assert well_formed_iri("http://imi.go.jp/ns/core/rdf#市区町村コード")
    for bad in ("not an iri", "http://exa mple.org/x", "ftp:/x", "http://localhost", "<x>"):
        assert not well_formed_iri(bad), bad


def test_mappings_reach_fiware_imi_and_sosa(vocabulary: Vocabulary) -> None:
    targets = {str(o) for p in MAPPING_PREDICATES for o in vocabulary.graph.objects(None, p)}
    assert "https://smartdatamodels.org/dataModel.Environment/WaterObserved" in targets
    assert "https://smartdatamodels.org/dataModel.Weather/WeatherObserved" in targets
    assert "https://smartdatamodels.org/dataModel.Environment/waterLevel" in targets
    assert "http://www.w3.org/ns/sosa/Observation" in targets
    assert "http://imi.go.jp/ns/core/rdf#設備型" in targets


def test_deprecated_terms_point_at_live_replacements(vocabulary: Vocabulary) -> None:
    deprecated = list(vocabulary.graph.subjects(OWL.deprecated, Literal(True)))
    assert len(deprecated) >= 3
    for term in deprecated:
        replacement = vocabulary.replacement(str(term))
        assert replacement is not None and vocabulary.has_term(replacement), term
        assert not vocabulary.is_deprecated(replacement), term


def test_the_ladder_has_four_levels_and_the_flooding_state(vocabulary: Vocabulary) -> None:
    notations = {
        vocabulary.label(str(s), "ja"): str(vocabulary.graph.value(s, SKOS.notation))
        for s in vocabulary.concepts_in(BASE + "WaterLevelThresholdScheme")
        if vocabulary.graph.value(s, SKOS.notation) is not None
    }
    assert notations == {
        "水防団待機水位": "1",
        "氾濫注意水位": "2",
        "避難判断水位": "3",
        "氾濫危険水位": "4",
        "氾濫発生": "5",
    }


def test_every_observable_property_has_a_unit_the_vocabulary_knows(
    vocabulary: Vocabulary,
) -> None:
    properties = vocabulary.properties
    assert {p.slug: p.canonical_unit.symbol for p in properties.values()} == {
        "water-level": "m",
        "rainfall-10min": "mm",
        "rainfall-1h": "mm/h",
        "rainfall-24h": "mm",
        "rainfall-accumulated": "mm",
        "discharge": "m³/s",
        "water-temperature": "°C",
        "air-temperature": "°C",
    }


def test_releases_are_listed_and_no_release_lost_a_term() -> None:
    assert releases() == ("0.1.0", "0.2.0")
    history = [release_graph(v) for v in releases()]
    for older, newer in zip(history, history[1:], strict=False):
        assert diff(older, newer).removed == ()


def test_an_unknown_release_is_an_error() -> None:
    from vocab.errors import VocabularyError

    with pytest.raises(VocabularyError) as caught:
        release_graph("9.9.9")
    assert caught.value.code == "unknown_release"
