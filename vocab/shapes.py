"""SHACL validation of shared-model payloads with the packaged shapes (pyshacl, offline).

pyshacl costs roughly half a millisecond per observation, so callers validate records in
batches (one pyshacl run per batch) and, for bulk conversions, a deterministic sample.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyshacl import validate as pyshacl_validate
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, SH

from vocab.errors import VocabularyError
from vocab.namespaces import compact_iri
from vocab.vocabulary import shapes_graph


@dataclass(frozen=True, slots=True)
class ShapeViolation:
    """One SHACL validation result, with names a person can act on."""

    focus: str
    field: str
    """The property shape's sh:name, else its path."""
    value: str | None
    rule: str
    """The constraint component, e.g. ``shacl:MinInclusive``."""
    message: str
    severity: str
    shape: str | None

    def __str__(self) -> str:
        shown = "" if self.value is None else f" value {self.value!r}"
        return f"{self.focus}: {self.field}{shown}: {self.message} ({self.rule})"


def validate_graph(data: Graph, *, shapes: Graph | None = None) -> list[ShapeViolation]:
    """Validate `data` against the shapes (default: the shared model's); [] when it conforms.

    No inference and no owl:imports: the shapes are written to need neither, and a consumer
    must get the same answer offline.
    """
    shapes = shapes if shapes is not None else shapes_graph()
    conforms, report, _text = pyshacl_validate(
        data,
        shacl_graph=shapes,
        inference="none",
        do_owl_imports=False,
        allow_warnings=True,
    )
    if not isinstance(report, Graph):
        raise VocabularyError(f"SHACL validation could not run: {report}", code="shacl_failure")
    if conforms:
        return []
    return sorted(
        (
            _violation(report, result, shapes)
            for result in report.subjects(RDF.type, SH.ValidationResult)
        ),
        key=lambda v: (v.focus, v.field, v.rule, v.message),
    )


def _violation(report: Graph, result: object, shapes: Graph) -> ShapeViolation:
    node = result if isinstance(result, URIRef | BNode) else BNode()
    focus = report.value(node, SH.focusNode)
    path = report.value(node, SH.resultPath)
    value = report.value(node, SH.value)
    component = report.value(node, SH.sourceConstraintComponent)
    message = report.value(node, SH.resultMessage)
    severity = report.value(node, SH.resultSeverity)
    shape = report.value(node, SH.sourceShape)
    name = shapes.value(shape, SH.name) if shape is not None else None
    rule = compact_iri(str(component)) if component is not None else "shacl"
    rule = rule.replace("sh:", "shacl:").removesuffix("ConstraintComponent")
    return ShapeViolation(
        focus=str(focus) if focus is not None else "",
        field=str(name) if name is not None else _path_text(report, path),
        value=None
        if value is None
        else (str(value) if isinstance(value, Literal | URIRef) else "[]"),
        rule=rule,
        message=str(message) if message is not None else rule,
        severity=compact_iri(str(severity)) if severity is not None else "sh:Violation",
        shape=None if shape is None or isinstance(shape, BNode) else str(shape),
    )


def _path_text(graph: Graph, path: object) -> str:
    if path is None:
        return ""
    if isinstance(path, BNode) and graph.value(path, RDF.first) is not None:
        return "/".join(compact_iri(str(step)) for step in Collection(graph, path))
    return compact_iri(str(path))
