"""Local terms: a participant's own vocabulary, mapped onto the shared one.

A participant may define terms in its own namespace (``https://a-city.example.jp/vocab/...``)
when the shared vocabulary is too coarse for its systems. Each local term must say which shared
term it corresponds to, with skos:exactMatch / closeMatch / broadMatch or rdfs:subClassOf /
subPropertyOf, so that data described with it still lands in the shared model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from vocab.namespaces import is_shared_term
from vocab.vocabulary import MAPPING_PREDICATES, Vocabulary


@dataclass(frozen=True, slots=True)
class ExtensionProblem:
    term: str
    severity: Literal["error", "warning"]
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.term}: {self.message} ({self.code})"


def local_terms(extension: Graph) -> list[URIRef]:
    """IRIs the extension declares with a type, except its ontology header."""
    terms = {
        s
        for s, o in extension.subject_objects(RDF.type)
        if isinstance(s, URIRef) and o != OWL.Ontology
    }
    return sorted(terms)


def check_extension(extension: Graph, vocabulary: Vocabulary) -> list[ExtensionProblem]:
    """Problems that keep local terms from mapping onto the shared vocabulary (errors) or that
    deserve attention (warnings). An empty list means the extension is usable as it is."""
    problems: list[ExtensionProblem] = []
    for term in local_terms(extension):
        name = str(term)
        if is_shared_term(name):
            problems.append(
                ExtensionProblem(
                    name,
                    "error",
                    "shared_namespace",
                    "local terms must live in the participant's own namespace",
                )
            )
            continue
        targets = [
            (predicate, target)
            for predicate in MAPPING_PREDICATES
            for target in extension.objects(term, predicate)
            if isinstance(target, URIRef) and is_shared_term(str(target))
        ]
        if not targets:
            problems.append(
                ExtensionProblem(
                    name,
                    "error",
                    "unmapped_local_term",
                    "maps to no shared term (add skos:exactMatch, closeMatch, broadMatch "
                    "or rdfs:subClassOf / subPropertyOf)",
                )
            )
        for _predicate, target in targets:
            if not vocabulary.has_term(str(target)):
                problems.append(
                    ExtensionProblem(
                        name, "error", "unknown_shared_term", f"{target} is not a shared term"
                    )
                )
            elif vocabulary.is_deprecated(str(target)):
                replacement = vocabulary.replacement(str(target))
                problems.append(
                    ExtensionProblem(
                        name,
                        "warning",
                        "deprecated_target",
                        f"{target} is deprecated"
                        + (f"; map to {replacement} instead" if replacement else ""),
                    )
                )
        if not any((term, p, None) in extension for p in (SKOS.prefLabel, RDFS.label)):
            problems.append(ExtensionProblem(name, "warning", "no_label", "has no label"))
    return problems
