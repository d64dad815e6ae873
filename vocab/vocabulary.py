"""The shared vocabulary as packaged Turtle, loaded once, and the lookups built on it.

`Vocabulary` wraps the rdflib graph and derives plain Python tables from it (units, observable
properties, the threshold ladder) so that nothing on a per-row path touches rdflib.
A participant's local terms are added with `Vocabulary.with_extension`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from importlib import resources
from pathlib import Path

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

from vocab.contexts import parse_jsonld
from vocab.errors import VocabularyError
from vocab.namespaces import (
    ONTOLOGY_IRI,
    PREFIXES,
    PROPERTY,
    SOSA,
    TSU,
    expand_curie,
    is_shared_term,
)
from vocab.units import Unit, UnitTable

MODULES: tuple[str, ...] = (
    "tsunagu.ttl",
    "themes.ttl",
    "properties.ttl",
    "units.ttl",
    "thresholds.ttl",
    "mappings.ttl",
    "catalogue.ttl",
)
"""The Turtle modules that make up the current vocabulary (shapes are kept apart)."""

SHAPES_MODULE = "shapes.ttl"

MAPPING_PREDICATES = (
    SKOS.exactMatch,
    SKOS.closeMatch,
    SKOS.broadMatch,
    SKOS.narrowMatch,
    SKOS.relatedMatch,
    RDFS.subClassOf,
    RDFS.subPropertyOf,
    OWL.equivalentClass,
    OWL.equivalentProperty,
)
"""Predicates that state how a term lines up with another vocabulary's term."""

_RESOLVING_MATCHES = (SKOS.exactMatch, OWL.equivalentClass, OWL.equivalentProperty)
_NEAR_MATCHES = (SKOS.closeMatch, SKOS.broadMatch, RDFS.subClassOf, RDFS.subPropertyOf)


@dataclass(frozen=True, slots=True)
class ObservableProperty:
    iri: str
    slug: str
    label_ja: str
    label_en: str
    canonical_unit: Unit
    observation_class: str | None
    accumulation_seconds: Fraction | None


@dataclass(frozen=True, slots=True)
class Resolution:
    """A term as written, the shared term it stands for, and how that was decided."""

    written: str
    iri: str
    notes: tuple[str, ...] = ()


def _read_package_file(name: str, package: str = "vocab.data") -> str:
    return resources.files(package).joinpath(name).read_text(encoding="utf-8")


def _bind(graph: Graph) -> Graph:
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace, override=True, replace=True)
    return graph


def parse_turtle(text: str, *, source: str = "<string>") -> Graph:
    """Parse Turtle, turning parser exceptions into `VocabularyError`."""
    graph = _bind(Graph())
    try:
        graph.parse(data=text, format="turtle")
    except Exception as error:  # rdflib raises several unrelated types for bad syntax
        raise VocabularyError(
            f"{source}: not valid Turtle: {error}", code="invalid_turtle"
        ) from error
    return graph


def load_graph_file(path: str | Path) -> Graph:
    """Parse a Turtle or JSON-LD file from disk (JSON-LD through the pinned contexts only)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".jsonld", ".json"):
        return parse_jsonld(text)
    return parse_turtle(text, source=str(path))


@functools.cache
def _current_graph() -> Graph:
    graph = _bind(Graph())
    for name in MODULES:
        graph += parse_turtle(_read_package_file(name), source=name)
    return graph


@functools.cache
def shapes_graph() -> Graph:
    """The SHACL shapes for the shared model's payloads."""
    return parse_turtle(_read_package_file(SHAPES_MODULE), source=SHAPES_MODULE)


def releases() -> tuple[str, ...]:
    """Versions of earlier releases kept as package data, oldest first, then the current one."""
    names = [
        entry.name.removesuffix(".ttl")
        for entry in resources.files("vocab.data.releases").iterdir()
        if entry.name.endswith(".ttl")
    ]
    names.sort(key=lambda v: tuple(int(p) for p in v.split(".")))
    return (*names, load_vocabulary().version)


@functools.cache
def release_graph(version: str) -> Graph:
    """The vocabulary graph of a release: an archived one, or the current one by its number.
    Graphs are parsed once and shared: do not modify them."""
    current = load_vocabulary()
    if version in ("current", current.version):
        return current.graph
    if version not in releases():
        raise VocabularyError(
            f"no release {version!r}; known: {', '.join(releases())}", code="unknown_release"
        )
    name = f"{version}.ttl"
    return parse_turtle(_read_package_file(name, "vocab.data.releases"), source=name)


@functools.cache
def load_vocabulary() -> Vocabulary:
    """The current shared vocabulary (parsed once per process)."""
    return Vocabulary(_current_graph())


class Vocabulary:
    """The shared vocabulary, optionally with a participant's local terms merged in."""

    def __init__(self, graph: Graph, *, extension: Graph | None = None) -> None:
        self.shared = graph
        self.extension = extension
        if extension is None:
            self.graph = graph
        else:
            self.graph = _bind(Graph())
            self.graph += graph
            self.graph += extension
        self._units: UnitTable | None = None
        self._properties: dict[str, ObservableProperty] | None = None

    def with_extension(self, extension: Graph) -> Vocabulary:
        """This vocabulary plus local terms; run `vocab.extension.check_extension` first."""
        merged = extension if self.extension is None else self.extension + extension
        return Vocabulary(self.shared, extension=merged)

    # --- version ------------------------------------------------------------------------------

    @property
    def version(self) -> str:
        value = self.shared.value(URIRef(ONTOLOGY_IRI), OWL.versionInfo)
        if value is None:
            raise VocabularyError("the vocabulary has no owl:versionInfo", code="no_version")
        return str(value)

    @property
    def version_iri(self) -> str:
        return str(self.shared.value(URIRef(ONTOLOGY_IRI), OWL.versionIRI))

    # --- tables derived once ------------------------------------------------------------------

    @property
    def units(self) -> UnitTable:
        if self._units is None:
            self._units = UnitTable.from_graph(self.shared)
        return self._units

    @property
    def properties(self) -> dict[str, ObservableProperty]:
        """Observable properties by IRI."""
        if self._properties is None:
            self._properties = self._load_properties()
        return self._properties

    def _load_properties(self) -> dict[str, ObservableProperty]:
        result = {}
        for subject in self.shared.subjects(RDF.type, SOSA.ObservableProperty):
            unit_iri = self.shared.value(subject, TSU.canonicalUnit)
            if unit_iri is None:
                raise VocabularyError(
                    f"{subject} has no tsu:canonicalUnit", code="no_canonical_unit"
                )
            period = self.shared.value(subject, TSU.accumulationPeriod)
            seconds = None
            if isinstance(period, Literal):
                seconds = Fraction(int(period.toPython().total_seconds()))
            klass = self.shared.value(subject, TSU.observationClass)
            iri = str(subject)
            result[iri] = ObservableProperty(
                iri=iri,
                slug=iri.removeprefix(str(PROPERTY)),
                label_ja=self.label(iri, "ja"),
                label_en=self.label(iri, "en"),
                canonical_unit=self.units.get(str(unit_iri)),
                observation_class=None if klass is None else str(klass),
                accumulation_seconds=seconds,
            )
        return result

    # --- terms --------------------------------------------------------------------------------

    def has_term(self, iri: str) -> bool:
        return (URIRef(iri), RDF.type, None) in self.graph

    def label(self, iri: str, language: str) -> str:
        """skos:prefLabel (or rdfs:label) in a language, or '' when there is none."""
        for predicate in (SKOS.prefLabel, RDFS.label):
            for value in self.graph.objects(URIRef(iri), predicate):
                if isinstance(value, Literal) and value.language == language:
                    return str(value)
        return ""

    def is_deprecated(self, iri: str) -> bool:
        return (URIRef(iri), OWL.deprecated, Literal(True)) in self.graph

    def replacement(self, iri: str) -> str | None:
        value = self.graph.value(URIRef(iri), DCTERMS.isReplacedBy)
        return None if value is None else str(value)

    def expand(self, text: str) -> str:
        """A full IRI from an IRI, a CURIE with a known or extension prefix, or an IRI."""
        text = text.strip()
        prefix, sep, local = text.partition(":")
        if sep and not local.startswith("//") and self.extension is not None:
            for bound, namespace in self.extension.namespaces():
                if bound == prefix:
                    return str(namespace) + local
        return expand_curie(text)

    def resolve(self, text: str) -> Resolution:
        """The shared term that `text` stands for.

        Local terms resolve through skos:exactMatch (or owl:equivalent*) first, then through
        closeMatch, broadMatch or a sub-class/-property link to a shared term. A deprecated term
        resolves to its replacement. Both cases are noted, so callers can warn.
        """
        iri = self.expand(text)
        notes: list[str] = []
        if not is_shared_term(iri):
            target = self._shared_match(iri)
            if target is None:
                raise VocabularyError(
                    f"{text!r} is not a shared term and maps to none", code="unmapped_local_term"
                )
            notes.append(f"local term {iri} stands for {target}")
            iri = target
        if not self.has_term(iri):
            raise VocabularyError(f"{text!r} is not a term of the vocabulary", code="unknown_term")
        seen = {iri}
        while self.is_deprecated(iri):
            replacement = self.replacement(iri)
            if replacement is None:
                notes.append(f"{iri} is deprecated and has no replacement")
                break
            notes.append(f"{iri} is deprecated; using its replacement {replacement}")
            if replacement in seen:
                raise VocabularyError(f"replacement cycle at {iri}", code="replacement_cycle")
            seen.add(replacement)
            iri = replacement
        return Resolution(written=text, iri=iri, notes=tuple(notes))

    def _shared_match(self, iri: str) -> str | None:
        subject = URIRef(iri)
        for predicates in (_RESOLVING_MATCHES, _NEAR_MATCHES):
            for predicate in predicates:
                for target in self.graph.objects(subject, predicate):
                    if isinstance(target, URIRef) and is_shared_term(str(target)):
                        return str(target)
        return None

    def observable_property(self, text: str) -> tuple[ObservableProperty, Resolution]:
        """An observable property by slug (``water-level``), CURIE, IRI or mapped local term."""
        written = text.strip()
        if ":" not in written:
            written = str(PROPERTY) + written
        resolution = self.resolve(written)
        prop = self.properties.get(resolution.iri)
        if prop is None:
            raise VocabularyError(f"{text!r} is not an observable property", code="not_a_property")
        return prop, resolution

    def describe(self, iri: str) -> Graph:
        """The term's own triples plus those of the blank nodes it leads to (its CBD)."""
        result = _bind(Graph())
        pending: list[URIRef | BNode] = [URIRef(iri)]
        seen: set[URIRef | BNode] = set()
        while pending:
            node = pending.pop()
            if node in seen:
                continue
            seen.add(node)
            for predicate, value in self.graph.predicate_objects(node):
                result.add((node, predicate, value))
                if isinstance(value, BNode):
                    pending.append(value)
        return result

    def concept_schemes(self) -> list[URIRef]:
        return sorted(
            s for s in self.graph.subjects(RDF.type, SKOS.ConceptScheme) if isinstance(s, URIRef)
        )

    def concepts_in(self, scheme: str) -> list[URIRef]:
        return sorted(
            s for s in self.graph.subjects(SKOS.inScheme, URIRef(scheme)) if isinstance(s, URIRef)
        )


def graphs_from_files(paths: Iterable[str | Path]) -> Graph:
    """One graph holding every file's triples."""
    graph = _bind(Graph())
    for path in paths:
        graph += load_graph_file(path)
    return graph
