"""SHACL validation of catalogue graphs, and its report in plain words.

`validate_graph` runs any shapes (tsunagu's profile, shipped as package data, or the official
DCAT-AP 3.0.1 files a test reads from ../shared) with pySHACL, offline: no owl:imports, no
inference (the writer states every class the range shapes check). Each result becomes an
`Issue` naming the node (a blank node by what points at it: "distribution of dataset <x>"),
the property and what is wrong.

`check_publishable` is what publishing runs: unknown vocabulary terms first (clear codes),
then the profile shapes; violations raise `InvalidEntry`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, SH
from rdflib.term import Node

from catalog.errors import InvalidEntry
from catalog.model import Catalog
from catalog.namespaces import DCAT, DCT, FOAF, ODRL, TSU, VCARD, compact, transfer_format_token
from catalog.rdf import Labels, to_graph
from catalog.terms import check_terms
from vocab.vocabulary import Vocabulary

_KINDS = {
    DCAT + "Catalog": "catalog",
    DCAT + "DatasetSeries": "dataset series",
    DCAT + "Dataset": "dataset",
    DCAT + "Distribution": "distribution",
    DCAT + "DataService": "data service",
    ODRL + "Offer": "offer",
    FOAF + "Agent": "publisher",
    VCARD + "Kind": "contact point",
    DCT + "PeriodOfTime": "period",
}
_ROLES = {
    DCAT + "distribution": "distribution",
    DCT + "publisher": "publisher",
    DCAT + "contactPoint": "contact point",
    DCT + "temporal": "period",
    TSU + "measures": "measure",
    ODRL + "permission": "permission",
    ODRL + "prohibition": "prohibition",
    ODRL + "constraint": "constraint",
}
_SEVERITY = {SH.Violation: "violation", SH.Warning: "warning", SH.Info: "info"}


@dataclass(frozen=True, slots=True)
class Issue:
    """One SHACL result in words."""

    node: str
    """What the problem is on: `dataset <https://...>`, `distribution of dataset <...>`."""
    path: str | None
    """The property, compacted (`dct:title`), or None for the node as a whole."""
    message: str
    severity: str
    """`violation`, `warning` or `info`."""
    value: str | None = None

    def text(self) -> str:
        where = f"{self.node}, {self.path}" if self.path else self.node
        value = f" (value: {self.value})" if self.value is not None else ""
        return f"{where}: {self.message}{value}"


@dataclass(frozen=True, slots=True)
class Report:
    issues: tuple[Issue, ...]

    @property
    def violations(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity == "violation")

    @property
    def warnings(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity != "violation")

    @property
    def conforms(self) -> bool:
        return not self.violations

    def text(self) -> str:
        if not self.issues:
            return "conforms"
        return "\n".join(f"{i.severity}: {i.text()}" for i in self.issues)


@functools.cache
def profile_shapes() -> Graph:
    """tsunagu's catalogue profile (package data). Shared: do not modify."""
    text = resources.files("catalog.data").joinpath("profile.ttl").read_text("utf-8")
    return Graph().parse(data=text, format="turtle")


def validate_graph(data: Graph, shapes: Graph) -> Report:
    """Run `shapes` over `data` offline and describe every result."""
    import pyshacl  # slow to import; only publishing and tests need it

    _conforms, results, _text = pyshacl.validate(
        data,
        shacl_graph=shapes,
        inference="none",
        do_owl_imports=False,
        allow_warnings=True,
    )
    assert isinstance(results, Graph)
    issues = [
        _issue(data, shapes, results, r) for r in results.subjects(RDF.type, SH.ValidationResult)
    ]
    issues.sort(key=lambda i: (i.severity != "violation", i.node, i.path or "", i.message))
    return Report(tuple(issues))


def check_publishable(
    catalog: Catalog,
    *,
    vocabulary: Vocabulary | None = None,
    labels: Labels | None = None,
) -> Report:
    """Refuse an entry tsunagu would not publish: `UnknownTerm` for a theme, place or unit the
    vocabulary lacks, `InvalidEntry` for profile violations. Returns the (warning) report."""
    check_terms(catalog, vocabulary)
    report = validate_graph(to_graph(catalog, labels=labels), profile_shapes())
    if not report.conforms:
        raise InvalidEntry(report)
    return report


# -- describing a result ----------------------------------------------------------------------


def _issue(data: Graph, shapes: Graph, results: Graph, result: Node) -> Issue:
    focus = results.value(result, SH.focusNode)
    path = results.value(result, SH.resultPath)
    value = results.value(result, SH.value)
    severity = _SEVERITY.get(results.value(result, SH.resultSeverity), "violation")  # type: ignore[call-overload]
    shape = results.value(result, SH.sourceShape)
    component = results.value(result, SH.sourceConstraintComponent)
    own = shapes.value(shape, SH.message) if shape is not None else None
    message = str(own) if own is not None else _explain(shapes, shape, component, results, result)
    return Issue(
        node=_name(data, focus),
        path=compact(str(path)) if isinstance(path, URIRef) else None,
        message=message,
        severity=severity,
        value=None if value is None or value == focus else _show(value),
    )


def _explain(
    shapes: Graph, shape: Node | None, component: Node | None, results: Graph, result: Node
) -> str:
    name = str(component).rsplit("#", 1)[-1].removesuffix("ConstraintComponent")

    def param(p: URIRef) -> Node | None:
        return shapes.value(shape, p) if shape is not None else None

    if name == "MinCount":
        count = param(SH.minCount)
        return "is missing" if str(count) == "1" else f"needs at least {count} values"
    if name == "MaxCount":
        return f"has more than {param(SH.maxCount)} value(s)"
    if name == "Class":
        klass = param(SH["class"])
        return f"must be a {compact(str(klass))}" if klass is not None else "has the wrong class"
    if name == "NodeKind":
        kind = param(SH.nodeKind)
        return f"must be {compact(str(kind)).removeprefix('sh:')}" if kind else "has the wrong kind"
    if name == "Datatype":
        return f"must be of type {compact(str(param(SH.datatype)))}"
    if name == "Pattern":
        return f"does not match {param(SH.pattern)}"
    if name == "In":
        return "is not one of the allowed values"
    message = results.value(result, SH.resultMessage)
    return str(message) if message is not None else f"fails {name}"


def _name(data: Graph, node: Node | None, depth: int = 0) -> str:
    if node is None:
        return "the catalogue"
    kind = next(
        (_KINDS[str(t)] for t in data.objects(node, RDF.type) if str(t) in _KINDS),
        None,
    )
    if isinstance(node, BNode):
        for subject, predicate in data.subject_predicates(node):
            role = _ROLES.get(str(predicate), kind or compact(str(predicate)))
            form = data.value(node, URIRef(DCT + "format"))
            if role == "distribution" and form is not None:  # tells a dataset's ones apart
                role = f"distribution {transfer_format_token(str(form))}"
            return f"{role} of {_name(data, subject, depth + 1)}" if depth < 4 else role
        return kind or "a blank node"
    return f"{kind} <{node}>" if kind else f"<{node}>"


def _show(value: Node) -> str:
    if isinstance(value, Literal):
        return f'"{value}"@{value.language}' if value.language else f'"{value}"'
    if isinstance(value, BNode):
        return "a blank node"
    return compact(str(value))
