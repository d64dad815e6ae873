"""Vocabulary management (語彙管理): versions, deprecations and the difference between releases.

Each release carries ``owl:versionInfo`` and a version IRI (``.../vocab/0.2.0``). Terms are never
removed: a term that should no longer be used is marked ``owl:deprecated true`` and points at its
successor with ``dct:isReplacedBy``. `diff` reports what changed between two releases: terms
added, removed (which should not happen), deprecated, and changed labels or mappings.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

from rdflib import Graph, URIRef
from rdflib import Literal as RdfLiteral
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

from vocab.namespaces import ONTOLOGY_IRI, compact_iri
from vocab.vocabulary import MAPPING_PREDICATES

LABEL_PREDICATES = (SKOS.prefLabel, SKOS.altLabel, SKOS.hiddenLabel, RDFS.label)


@dataclass(frozen=True, slots=True)
class Deprecation:
    term: str
    replacement: str | None


@dataclass(frozen=True, slots=True)
class LabelChange:
    term: str
    predicate: str
    language: str
    before: tuple[str, ...]
    after: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MappingChange:
    term: str
    predicate: str
    target: str
    change: Literal["added", "removed"]


@dataclass(frozen=True)
class VocabularyDiff:
    old_version: str
    new_version: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    deprecated: tuple[Deprecation, ...] = ()
    labels: tuple[LabelChange, ...] = ()
    mappings: tuple[MappingChange, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.deprecated or self.labels or self.mappings)

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.old_version,
            "to": self.new_version,
            "added": list(self.added),
            "removed": list(self.removed),
            "deprecated": [{"term": d.term, "replacement": d.replacement} for d in self.deprecated],
            "labels": [
                {
                    "term": c.term,
                    "predicate": c.predicate,
                    "language": c.language,
                    "before": list(c.before),
                    "after": list(c.after),
                }
                for c in self.labels
            ],
            "mappings": [
                {"term": c.term, "predicate": c.predicate, "target": c.target, "change": c.change}
                for c in self.mappings
            ],
        }

    def text(self) -> str:
        """A report for people, terms written as CURIEs."""
        lines = [f"vocabulary {self.old_version} -> {self.new_version}"]
        if self.is_empty:
            lines.append("  no changes")
        for title, items in (
            ("added", [compact_iri(t) for t in self.added]),
            ("removed", [compact_iri(t) for t in self.removed]),
            (
                "deprecated",
                [
                    compact_iri(d.term)
                    + (f" -> {compact_iri(d.replacement)}" if d.replacement else "")
                    for d in self.deprecated
                ],
            ),
            (
                "labels changed",
                [
                    f"{compact_iri(c.term)} {c.predicate}@{c.language or '-'}: "
                    f"{' | '.join(c.before) or '(none)'} -> {' | '.join(c.after) or '(none)'}"
                    for c in self.labels
                ],
            ),
            (
                "mappings changed",
                [
                    f"{'+' if c.change == 'added' else '-'} {compact_iri(c.term)} {c.predicate} "
                    f"{compact_iri(c.target)}"
                    for c in self.mappings
                ],
            ),
        ):
            if items:
                lines.append(f"  {title} ({len(items)}):")
                lines.extend(f"    {item}" for item in items)
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)


def version_of(graph: Graph) -> tuple[str, str | None]:
    """(owl:versionInfo, version IRI) of a vocabulary graph; ('unknown', None) if absent."""
    ontology = URIRef(ONTOLOGY_IRI)
    info = graph.value(ontology, OWL.versionInfo)
    iri = graph.value(ontology, OWL.versionIRI)
    return (str(info) if info is not None else "unknown", str(iri) if iri is not None else None)


def terms_of(graph: Graph) -> set[str]:
    """IRIs declared with a type, except the ontology header itself."""
    return {
        str(s)
        for s in graph.subjects(RDF.type, None)
        if isinstance(s, URIRef) and str(s) != ONTOLOGY_IRI
    }


def deprecations(graph: Graph) -> dict[str, str | None]:
    """Deprecated term -> its replacement (None when it has none)."""
    result: dict[str, str | None] = {}
    for term in graph.subjects(OWL.deprecated, RdfLiteral(True)):
        replacement = graph.value(term, DCTERMS.isReplacedBy)
        result[str(term)] = None if replacement is None else str(replacement)
    return result


def diff(old: Graph, new: Graph) -> VocabularyDiff:
    """What changed from `old` to `new`."""
    old_terms, new_terms = terms_of(old), terms_of(new)
    old_deprecated, new_deprecated = deprecations(old), deprecations(new)
    kept = old_terms & new_terms
    labels = [change for term in sorted(kept) for change in _label_changes(old, new, URIRef(term))]
    notes = []
    removed = sorted(old_terms - new_terms)
    if removed:
        notes.append("terms should be deprecated with dct:isReplacedBy, not removed")
    return VocabularyDiff(
        old_version=version_of(old)[0],
        new_version=version_of(new)[0],
        added=tuple(sorted(new_terms - old_terms)),
        removed=tuple(removed),
        deprecated=tuple(
            Deprecation(term, replacement)
            for term, replacement in sorted(new_deprecated.items())
            if term not in old_deprecated
        ),
        labels=tuple(labels),
        mappings=tuple(_mapping_changes(old, new)),
        notes=tuple(notes),
    )


def _labels(graph: Graph, term: URIRef) -> dict[tuple[str, str], set[str]]:
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    for predicate in LABEL_PREDICATES:
        for value in graph.objects(term, predicate):
            if isinstance(value, RdfLiteral):
                found[(compact_iri(str(predicate)), value.language or "")].add(str(value))
    return found


def _label_changes(old: Graph, new: Graph, term: URIRef) -> list[LabelChange]:
    before, after = _labels(old, term), _labels(new, term)
    changes = []
    for key in sorted(set(before) | set(after)):
        if before.get(key, set()) != after.get(key, set()):
            changes.append(
                LabelChange(
                    term=str(term),
                    predicate=key[0],
                    language=key[1],
                    before=tuple(sorted(before.get(key, set()))),
                    after=tuple(sorted(after.get(key, set()))),
                )
            )
    return changes


def _mappings(graph: Graph) -> set[tuple[str, str, str]]:
    return {
        (str(s), compact_iri(str(p)), str(o))
        for p in MAPPING_PREDICATES
        for s, o in graph.subject_objects(p)
        if isinstance(s, URIRef) and isinstance(o, URIRef)
    }


def _mapping_changes(old: Graph, new: Graph) -> list[MappingChange]:
    before, after = _mappings(old), _mappings(new)
    changes = [MappingChange(s, p, o, "removed") for s, p, o in before - after]
    changes += [MappingChange(s, p, o, "added") for s, p, o in after - before]
    return sorted(changes, key=lambda c: (c.term, c.predicate, c.target, c.change))
