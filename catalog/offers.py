"""ODRL offers as RDF triples and back, straight from the policy model (no JSON-LD involved).

Terms in the ODRL namespace (`use`, `spatial`, `eq`) become ODRL IRIs; other operands keep
their IRIs. A plain-string right operand is a plain literal, as in the DSP JSON. Logical
constraints list their members in an rdf:List, since `andSequence` is ordered.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, XSD
from rdflib.term import Node

from catalog.errors import CatalogError
from catalog.namespaces import ODRL
from policies.errors import PolicyError
from policies.odrl import (
    POLICY_KINDS,
    ConstraintLike,
    LiteralValue,
    LogicalConstraint,
    LogicalOperator,
    Policy,
    Reference,
    RightOperand,
    Rule,
    parse_policy,
)

_O = ODRL
_LOGICAL = {op.value for op in LogicalOperator}


def _term(value: str) -> URIRef:
    return URIRef(value if ":" in value else _O + value)


def add_policy(graph: Graph, policy: Policy) -> URIRef:
    """Write `policy` (its target left out, as in a catalogue) and return its node."""
    node = URIRef(policy.uid)
    graph.add((node, RDF.type, URIRef(_O + policy.kind)))
    graph.add((node, RDF.type, URIRef(_O + "Policy")))  # DCAT-AP's range, without inference
    for key, value in (("assigner", policy.assigner), ("assignee", policy.assignee)):
        if value:
            graph.add((node, URIRef(_O + key), URIRef(value)))
    for profile in policy.profile:
        graph.add((node, URIRef(_O + "profile"), URIRef(profile)))
    if policy.timestamp is not None:
        graph.add((node, URIRef(_O + "timestamp"), Literal(policy.timestamp)))
    for key, rules in (
        ("permission", policy.permissions),
        ("prohibition", policy.prohibitions),
        ("obligation", policy.obligations),
    ):
        for rule in rules:
            graph.add((node, URIRef(_O + key), _rule(graph, rule)))
    return node


def _rule(graph: Graph, rule: Rule) -> BNode:
    node = BNode()
    graph.add((node, URIRef(_O + "action"), _term(rule.action)))
    for constraint in rule.constraints:
        graph.add((node, URIRef(_O + "constraint"), _constraint(graph, constraint)))
    for duty in rule.duties:
        graph.add((node, URIRef(_O + "duty"), _rule(graph, duty)))
    return node


def _constraint(graph: Graph, constraint: ConstraintLike) -> BNode:
    node = BNode()
    if isinstance(constraint, LogicalConstraint):
        members = BNode()
        Collection(graph, members, [_constraint(graph, c) for c in constraint.constraints])
        graph.add((node, URIRef(_O + constraint.operator.value), members))
        return node
    graph.add((node, URIRef(_O + "leftOperand"), _term(constraint.left_operand)))
    graph.add((node, URIRef(_O + "operator"), _term(constraint.operator.value)))
    operands = constraint.right_operand
    for value in operands if isinstance(operands, tuple) else (operands,):
        graph.add((node, URIRef(_O + "rightOperand"), _operand(value)))
    return node


def _operand(value: RightOperand) -> Node:
    if isinstance(value, Reference):
        return URIRef(value.iri)
    if isinstance(value, LiteralValue):
        if value.language:
            return Literal(value.value, lang=value.language)
        return Literal(value.value, datatype=URIRef(value.datatype) if value.datatype else None)
    return Literal(str(value))


# -- reading ----------------------------------------------------------------------------------


def read_policy(graph: Graph, node: Node, what: str) -> Policy:
    """The offer described at `node`; `CatalogError(code="invalid_policy")` when it is not one."""
    data: dict[str, Any] = {"@id": str(node)}
    kinds = [
        str(t)[len(_O) :]
        for t in graph.objects(node, RDF.type)
        if str(t).startswith(_O) and str(t)[len(_O) :] in POLICY_KINDS
    ]
    data["@type"] = kinds[0] if len(kinds) == 1 else "Offer"
    for key in ("assigner", "assignee", "profile"):
        values = [{"@id": str(v)} for v in graph.objects(node, URIRef(_O + key))]
        if values:
            data[key] = values
    stamp = graph.value(node, URIRef(_O + "timestamp"))
    if isinstance(stamp, Literal):
        value = stamp.toPython()
        data["timestamp"] = value.isoformat() if isinstance(value, datetime) else str(stamp)
    for key in ("permission", "prohibition", "obligation"):
        rules = [_read_rule(graph, r) for r in graph.objects(node, URIRef(_O + key))]
        if rules:
            data[key] = rules
    try:
        return parse_policy(data, expected_kind="Offer")
    except PolicyError as exc:
        raise CatalogError(f"{what}: {exc}", code="invalid_policy") from exc


def _read_rule(graph: Graph, node: Node) -> dict[str, Any]:
    out: dict[str, Any] = {}
    action = graph.value(node, URIRef(_O + "action"))
    if action is not None:
        out["action"] = str(action)
    constraints = [
        _read_constraint(graph, c) for c in graph.objects(node, URIRef(_O + "constraint"))
    ]
    if constraints:
        out["constraint"] = constraints
    duties = [_read_rule(graph, d) for d in graph.objects(node, URIRef(_O + "duty"))]
    if duties:
        out["duty"] = duties
    return out


def _read_constraint(graph: Graph, node: Node) -> dict[str, Any]:
    for operator in _LOGICAL:
        members = graph.value(node, URIRef(_O + operator))
        if members is not None:
            items = list(Collection(graph, members)) if (members, RDF.first, None) in graph else []
            if not items:  # written as plain repeated values by other tools
                items = list(graph.objects(node, URIRef(_O + operator)))
            return {operator: [_read_constraint(graph, m) for m in items]}
    out: dict[str, Any] = {}
    for key in ("leftOperand", "operator"):
        value = graph.value(node, URIRef(_O + key))
        if value is not None:
            out[key] = str(value)
    operands = [_read_operand(v) for v in graph.objects(node, URIRef(_O + "rightOperand"))]
    out["rightOperand"] = operands[0] if len(operands) == 1 else sorted(operands, key=repr)
    return out


def _read_operand(value: Node) -> Any:
    if isinstance(value, URIRef):
        return {"@id": str(value)}
    if isinstance(value, Literal):
        if value.language:
            return {"@value": str(value), "@language": value.language}
        if value.datatype is None or value.datatype == XSD.string:
            return str(value)
        return {"@value": str(value), "@type": str(value.datatype)}
    raise CatalogError("a rightOperand cannot be a blank node here", code="invalid_policy")
