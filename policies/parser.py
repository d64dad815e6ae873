"""Reading ODRL policies as peers send them.

Accepted: the DSP 2025-1 compact form, `odrl:`-prefixed or full-IRI keys and values, single
values where arrays are expected, `@list`/`@set` wrappers, `{"@id": ...}` / `{"@value": ...}`
objects (so JSON-LD *expanded* policies read too). Everything is normalised to one spelling.

ODRL features this model does not represent (party collections, refinements, remedies,
`rightOperandReference`, units, ...) are rejected with `unsupported_feature` rather than
dropped: ignoring them would silently change what a policy means. Keys outside ODRL are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from policies.errors import PolicyError
from policies.model import (
    POLICY_KINDS,
    Constraint,
    ConstraintLike,
    LiteralValue,
    LogicalConstraint,
    Policy,
    PolicyKind,
    Reference,
    RightOperand,
    Rule,
    Value,
    operator_of,
)
from policies.terms import XSD, LogicalOperator, expand, odrl_term, property_name, term_value

Node = dict[str, list[Any]]

_UNSUPPORTED_POLICY = ("inheritFrom", "conflict")
_UNSUPPORTED_RULE = ("assigner", "assignee", "remedy", "consequence", "failure", "refinement")
_UNSUPPORTED_CONSTRAINT = ("rightOperandReference", "unit", "dataType", "status")
_DATETIME = re.compile(r"-?\d{4,}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?")


def parse_policy(data: Mapping[str, Any], *, expected_kind: PolicyKind | None = None) -> Policy:
    """Read one policy; raise `PolicyError` (with a `code`) when it is not a usable policy.

    `expected_kind` ("Offer", "Agreement") is assumed when `@type` is absent and enforced when
    it is present.
    """
    node = _node(data, "policy")
    _reject(node, _UNSUPPORTED_POLICY, "policy")
    uid = _one(node, "@id", "policy") or _one(node, "uid", "policy")
    if not isinstance(uid, str) or not uid:
        raise PolicyError("the policy has no @id", code="missing_id")
    what = f"policy {uid!r}"
    return Policy(
        kind=_kind(node.get("@type", []), expected_kind, what),
        uid=uid,
        target=_party(_one(node, "target", what), f"{what} target"),
        assigner=_party(_one(node, "assigner", what), f"{what} assigner"),
        assignee=_party(_one(node, "assignee", what), f"{what} assignee"),
        permissions=_rules(node, "permission", what),
        prohibitions=_rules(node, "prohibition", what),
        obligations=_rules(node, "obligation", what),
        profile=tuple(_iri(p, f"{what} profile") for p in node.get("profile", [])),
        timestamp=_timestamp(_one(node, "timestamp", what), what),
    )


def parse_rule(data: object, what: str = "rule") -> Rule:
    node = _node(data, what)
    if "target" in node:
        raise PolicyError(
            f"{what} carries its own target; DSP puts the target on the policy only",
            code="rule_target",
        )
    _reject(node, _UNSUPPORTED_RULE, what)
    action = _one(node, "action", what)
    if action is None:
        raise PolicyError(f"{what} has no action", code="missing_action")
    if isinstance(action, Mapping) and any(property_name(k) == "refinement" for k in action):
        raise PolicyError(f"{what}: refined actions are not supported", code="unsupported_feature")
    return Rule(
        action=term_value(action, f"{what} action"),
        constraints=tuple(
            parse_constraint(c, f"{what} constraint[{i}]")
            for i, c in enumerate(node.get("constraint", []))
        ),
        duties=_rules(node, "duty", what),
    )


def parse_constraint(data: object, what: str = "constraint") -> ConstraintLike:
    node = _node(data, what)
    logical = [op for op in LogicalOperator if op.value in node]
    atomic = [k for k in ("leftOperand", "operator", "rightOperand") if k in node]
    if len(logical) + (1 if atomic else 0) != 1:
        found = [op.value for op in logical] + atomic
        raise PolicyError(
            f"{what} must be either atomic (leftOperand, operator, rightOperand) or exactly one "
            f"of and/or/xone/andSequence; found {found or 'none of them'}",
            code="invalid_constraint",
        )
    if logical:
        op = logical[0]
        return LogicalConstraint(
            operator=op,
            constraints=tuple(
                parse_constraint(c, f"{what} {op.value}[{i}]") for i, c in enumerate(node[op.value])
            ),
        )
    _reject(node, _UNSUPPORTED_CONSTRAINT, what)
    left = _one(node, "leftOperand", what)
    operator = _one(node, "operator", what)
    right = node.get("rightOperand", [])
    if left is None or operator is None or not right:
        missing = [k for k, v in (("leftOperand", left), ("operator", operator)) if v is None]
        missing += [] if right else ["rightOperand"]
        raise PolicyError(f"{what} lacks {', '.join(missing)}", code="invalid_constraint")
    values = tuple(_operand(v, what) for v in right)
    operand: RightOperand = values[0] if len(values) == 1 else values
    return Constraint(
        left_operand=term_value(left, f"{what} leftOperand"),
        operator=operator_of(term_value(operator, f"{what} operator")),
        right_operand=operand,
    )


# -- helpers ----------------------------------------------------------------------------------


def _node(data: object, what: str) -> Node:
    """Keys in canonical spelling, each with its values as a flat list (JSON-LD set semantics)."""
    if not isinstance(data, Mapping):
        raise PolicyError(
            f"{what} must be a JSON object, got {_json_type(data)}", code="invalid_value"
        )
    node: Node = {}
    for key, value in data.items():
        if isinstance(key, str):
            node.setdefault(property_name(key), []).extend(_flatten(value))
    return node


def _flatten(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return [item for v in value for item in _flatten(v)]
    if isinstance(value, Mapping) and len(value) == 1 and ("@list" in value or "@set" in value):
        return _flatten(next(iter(value.values())))
    return [value]


def _one(node: Node, key: str, what: str) -> Any:
    values = node.get(key, [])
    if len(values) > 1:
        raise PolicyError(
            f"{what} has {len(values)} values for {key!r}; expected one", code="invalid_value"
        )
    return values[0] if values else None


def _reject(node: Node, keys: Iterable[str], what: str) -> None:
    for key in keys:
        if key in node:
            raise PolicyError(f"{what}: ODRL {key!r} is not supported", code="unsupported_feature")


def _rules(node: Node, key: str, what: str) -> tuple[Rule, ...]:
    return tuple(parse_rule(r, f"{what} {key}[{i}]") for i, r in enumerate(node.get(key, [])))


def _kind(types: list[Any], expected: PolicyKind | None, what: str) -> PolicyKind:
    names = {odrl_term(t) for t in types if isinstance(t, str)}
    if "Policy" in names:  # ODRL: a policy of no subclass is a Set
        names = (names - {"Policy"}) | {"Set"}
    kinds = [k for k in POLICY_KINDS if k in names]
    if len(kinds) != 1 and (types or len(kinds) > 1):
        raise PolicyError(
            f"{what} has @type {types!r}; expected one of {', '.join(POLICY_KINDS)}",
            code="invalid_type",
        )
    kind: PolicyKind = kinds[0] if kinds else (expected or "Set")
    if expected is not None and kind != expected:
        raise PolicyError(f"{what} is an {kind}, expected an {expected}", code="wrong_policy_type")
    return kind


def _iri(value: Any, what: str) -> str:
    if isinstance(value, Mapping) and set(value) == {"@id"}:
        value = value["@id"]
    if isinstance(value, str) and value:
        return value
    raise PolicyError(f"{what} must be an IRI string, got {value!r}", code="invalid_value")


def _party(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, Mapping) and set(value) - {"@id", "@type"}:
        raise PolicyError(
            f"{what}: party objects are not supported, use an id", code="unsupported_feature"
        )
    if isinstance(value, Mapping):
        value = value.get("@id")
    return _iri(value, what)


def _timestamp(value: Any, what: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        value = value.get("@value")
    if isinstance(value, str) and _DATETIME.fullmatch(value):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    raise PolicyError(
        f"{what} timestamp {value!r} is not an xsd:dateTime", code="invalid_timestamp"
    )


def _operand(value: Any, what: str) -> Value:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return LiteralValue("true" if value else "false", XSD + "boolean")
    if isinstance(value, int):
        return LiteralValue(str(value), XSD + "integer")
    if isinstance(value, float):
        return LiteralValue(repr(value), XSD + "double")
    if isinstance(value, Mapping) and set(value) == {"@id"} and isinstance(value["@id"], str):
        return Reference(expand(value["@id"]))
    if (
        isinstance(value, Mapping)
        and "@value" in value
        and set(value) <= {"@value", "@type", "@language"}
    ):
        datatype, language = value.get("@type"), value.get("@language")
        if datatype is None and language is None:
            return _operand(value["@value"], what)
        if isinstance(datatype, str) and language is None:
            if expand(datatype) == XSD + "string":
                return _operand(value["@value"], what)
            raw = value["@value"]
            lexical = raw if isinstance(raw, str) else _operand(raw, what)
            text = lexical.value if isinstance(lexical, LiteralValue) else str(lexical)
            return LiteralValue(text, expand(datatype))
        if isinstance(language, str) and datatype is None and isinstance(value["@value"], str):
            return LiteralValue(value["@value"], None, language.lower())
    raise PolicyError(f"{what}: unsupported rightOperand {value!r}", code="unsupported_feature")


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool | int | float):
        return "a number" if not isinstance(value, bool) else "a boolean"
    return type(value).__name__
