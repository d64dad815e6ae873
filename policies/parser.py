"""Reading ODRL policies as peers send them.

Accepted: the DSP 2025-1 compact form, `odrl:`/`tsup:`-prefixed or full-IRI keys and values,
single values where arrays are expected, `@list`/`@set` wrappers, `{"@id": ...}` /
`{"@value": ...}` objects (so JSON-LD *expanded* policies read too). Everything is normalised
to one spelling. A constraint may be given once with an `@id` (or `uid`) and referred to
elsewhere as `{"@id": ...}`, as ODRL's logical-constraint examples do.

ODRL features this model does not represent (party collections, refinements, remedies,
`rightOperandReference`, ...) are rejected with `unsupported_feature` rather than dropped:
ignoring them would silently change what a policy means. Keys outside ODRL are ignored.

Bounds: a policy is read only up to `LIMITS` (rules, constraints, nesting, right-operand
values); past them, and for constraints that refer to each other in a loop, the error names
the place (a JSON-pointer-like path such as `/permission/0/constraint/1/and/0`).

This reads; it does not judge terms. `policies.profile.check_policy` is the stricter entry
point for policies being *written* (dataset add, offer, counter-offer).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from policies.errors import ConstraintCycle, MalformedPolicy, PolicyError, PolicyTooLarge
from policies.model import (
    CONFLICT_STRATEGIES,
    POLICY_KINDS,
    ConflictStrategy,
    Constraint,
    ConstraintLike,
    FloodAlert,
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


@dataclass(frozen=True)
class Limits:
    rules: int = 64
    """Permissions, prohibitions, obligations and duties together."""
    constraints: int = 256
    """Atomic and logical constraints together (a referenced one counts at each use)."""
    depth: int = 8
    """Nesting of logical constraints (and duties within duties)."""
    values: int = 1000
    """Items of one right operand."""


LIMITS = Limits()

_UNSUPPORTED_POLICY = ("inheritFrom",)
_UNSUPPORTED_RULE = ("assigner", "assignee", "remedy", "consequence", "failure", "refinement")
_UNSUPPORTED_CONSTRAINT = ("rightOperandReference", "dataType", "status")
_DATETIME = re.compile(r"-?\d{4,}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?")
_ATOMIC_KEYS = ("leftOperand", "operator", "rightOperand")


def parse_policy(
    data: Mapping[str, Any], *, expected_kind: PolicyKind | None = None, limits: Limits = LIMITS
) -> Policy:
    """Read one policy; raise `PolicyError` (with a `code` and a `path`) when it is not a
    usable policy.

    `expected_kind` ("Offer", "Agreement") is assumed when `@type` is absent and enforced when
    it is present.
    """
    return _Reader(limits).policy(data, expected_kind)


def parse_rule(data: object, what: str = "") -> Rule:
    return _Reader(LIMITS).rule(data, what, depth=0)


def parse_constraint(data: object, what: str = "") -> ConstraintLike:
    reader = _Reader(LIMITS)
    reader.collect(data, "")
    return reader.constraint(data, what, depth=0, stack=())


class _Reader:
    """One policy's reading: counts against the limits and the constraints named by id."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.rules = 0
        self.constraints = 0
        self.defined: dict[str, Mapping[str, Any]] = {}
        self.defined_at: dict[str, str] = {}

    def policy(self, data: Mapping[str, Any], expected: PolicyKind | None) -> Policy:
        node = _node(data, "")
        _reject(node, _UNSUPPORTED_POLICY, "")
        self.collect(data, "")
        uid = _one(node, "@id", "") or _one(node, "uid", "")
        if not isinstance(uid, str) or not uid:
            raise PolicyError("the policy has no @id", code="missing_id", path="/@id")
        return Policy(
            kind=_kind(node.get("@type", []), expected, uid),
            uid=uid,
            target=_party(_one(node, "target", ""), "/target"),
            assigner=_party(_one(node, "assigner", ""), "/assigner"),
            assignee=_party(_one(node, "assignee", ""), "/assignee"),
            permissions=self.rules_of(node, "permission", "", 0),
            prohibitions=self.rules_of(node, "prohibition", "", 0),
            obligations=self.rules_of(node, "obligation", "", 0),
            profile=tuple(_iri(p, f"/profile/{i}") for i, p in enumerate(node.get("profile", []))),
            timestamp=_timestamp(_one(node, "timestamp", ""), "/timestamp"),
            conflict=_conflict(_one(node, "conflict", ""), "/conflict"),
        )

    def rules_of(self, node: Node, key: str, path: str, depth: int) -> tuple[Rule, ...]:
        return tuple(
            self.rule(r, f"{path}/{key}/{i}", depth) for i, r in enumerate(node.get(key, []))
        )

    def rule(self, data: object, path: str, depth: int) -> Rule:
        self.rules += 1
        if self.rules > self.limits.rules:
            raise PolicyTooLarge(
                f"more than {self.limits.rules} rules (permissions, prohibitions, obligations "
                "and duties together)",
                path=path,
            )
        if depth > self.limits.depth:
            raise PolicyTooLarge(f"duties nested deeper than {self.limits.depth}", path=path)
        node = _node(data, path)
        if "target" in node:
            raise PolicyError(
                "a rule carries its own target; DSP puts the target on the policy only",
                code="rule_target",
                path=f"{path}/target",
            )
        _reject(node, _UNSUPPORTED_RULE, path)
        action = _one(node, "action", path)
        if action is None:
            raise PolicyError("the rule has no action", code="missing_action", path=path)
        if isinstance(action, Mapping) and any(property_name(k) == "refinement" for k in action):
            raise PolicyError(
                "refined actions are not supported",
                code="unsupported_feature",
                path=f"{path}/action",
            )
        return Rule(
            action=_term(action, f"{path}/action"),
            constraints=tuple(
                self.constraint(c, f"{path}/constraint/{i}", depth=0, stack=())
                for i, c in enumerate(node.get("constraint", []))
            ),
            duties=self.rules_of(node, "duty", path, depth + 1),
        )

    def collect(self, data: object, path: str, seen: frozenset[int] = frozenset()) -> None:
        """Constraints defined with an id anywhere in the document, so references resolve
        (and the walk itself is bounded: a self-containing object is a cycle)."""
        if isinstance(data, Mapping):
            items: Iterable[tuple[str, Any]] = ((str(k), v) for k, v in data.items())
        elif isinstance(data, list):
            items = ((str(i), v) for i, v in enumerate(data))
        else:
            return
        if id(data) in seen:
            raise ConstraintCycle("the document contains itself", path=path)
        if len(seen) > 4 * self.limits.depth + 16:
            raise PolicyTooLarge("the document is nested too deeply", path=path)
        if isinstance(data, Mapping):
            ident = data.get("@id", data.get("uid"))
            keys = {property_name(str(k)) for k in data}
            is_constraint = bool(keys & ({*_ATOMIC_KEYS} | {op.value for op in LogicalOperator}))
            if isinstance(ident, str) and is_constraint and ident not in self.defined:
                self.defined[ident] = data
                self.defined_at[ident] = path
        inner = seen | {id(data)}
        for key, value in items:
            self.collect(value, f"{path}/{key}", inner)

    def constraint(
        self, data: object, path: str, *, depth: int, stack: tuple[str, ...]
    ) -> ConstraintLike:
        self.constraints += 1
        if self.constraints > self.limits.constraints:
            raise PolicyTooLarge(f"more than {self.limits.constraints} constraints", path=path)
        if depth > self.limits.depth:
            raise PolicyTooLarge(
                f"logical constraints nested deeper than {self.limits.depth}", path=path
            )
        node = _node(data, path)
        ident = _one(node, "@id", path) or _one(node, "uid", path)
        if isinstance(ident, str):
            if ident in stack:
                chain = " -> ".join((*stack[stack.index(ident) :], ident))
                raise ConstraintCycle(
                    f"constraints refer to each other in a loop: {chain}", path=path
                )
            stack = (*stack, ident)
            if set(node) <= {"@id", "uid", "@type"}:  # a reference: read the definition
                definition = self.defined.get(ident)
                if definition is None:
                    raise PolicyError(
                        f"constraint {ident!r} is referred to but not defined in the policy",
                        code="undefined_constraint",
                        path=path,
                    )
                node = _node(definition, self.defined_at[ident])
        logical = [op for op in LogicalOperator if op.value in node]
        atomic = [k for k in _ATOMIC_KEYS if k in node]
        if len(logical) + (1 if atomic else 0) != 1:
            found = [op.value for op in logical] + atomic
            raise PolicyError(
                "a constraint must be either atomic (leftOperand, operator, rightOperand) or "
                f"exactly one of and/or/xone/andSequence; found {found or 'none of them'}",
                code="invalid_constraint",
                path=path,
            )
        if logical:
            op = logical[0]
            return LogicalConstraint(
                operator=op,
                constraints=tuple(
                    self.constraint(c, f"{path}/{op.value}/{i}", depth=depth + 1, stack=stack)
                    for i, c in enumerate(node[op.value])
                ),
            )
        _reject(node, _UNSUPPORTED_CONSTRAINT, path)
        left = _one(node, "leftOperand", path)
        operator = _one(node, "operator", path)
        right = node.get("rightOperand", [])
        if left is None or operator is None or not right:
            missing = [k for k, v in (("leftOperand", left), ("operator", operator)) if v is None]
            missing += [] if right else ["rightOperand"]
            raise PolicyError(
                f"the constraint lacks {', '.join(missing)}", code="invalid_constraint", path=path
            )
        if len(right) > self.limits.values:
            raise PolicyTooLarge(
                f"more than {self.limits.values} right-operand values", path=f"{path}/rightOperand"
            )
        values = tuple(
            _operand(v, f"{path}/rightOperand" + (f"/{i}" if len(right) > 1 else ""))
            for i, v in enumerate(right)
        )
        operand: RightOperand = values[0] if len(values) == 1 else values
        unit = _one(node, "unit", path)
        try:
            return Constraint(
                left_operand=_term(left, f"{path}/leftOperand"),
                operator=operator_of(_term(operator, f"{path}/operator")),
                right_operand=operand,
                unit=None if unit is None else _term(unit, f"{path}/unit"),
            )
        except PolicyError as exc:
            if exc.path:
                raise
            raise type(exc)(exc.detail, code=exc.code, path=path) from None


# -- helpers ----------------------------------------------------------------------------------


def _node(data: object, path: str) -> Node:
    """Keys in canonical spelling, each with its values as a flat list (JSON-LD set semantics)."""
    if not isinstance(data, Mapping):
        raise MalformedPolicy(
            f"expected a JSON object, got {_json_type(data)}", code="invalid_value", path=path
        )
    node: Node = {}
    for key, value in data.items():
        if isinstance(key, str):
            node.setdefault(property_name(key), []).extend(_flatten(value))
    return node


def _flatten(value: Any, depth: int = 0) -> list[Any]:
    if value is None:
        return []
    if depth > 8:
        raise PolicyTooLarge("arrays nested too deeply")
    if isinstance(value, list):
        return [item for v in value for item in _flatten(v, depth + 1)]
    if isinstance(value, Mapping) and len(value) == 1 and ("@list" in value or "@set" in value):
        return _flatten(next(iter(value.values())), depth + 1)
    return [value]


def _term(value: Any, path: str) -> str:
    try:
        return term_value(value, "the term")
    except PolicyError as exc:
        raise PolicyError(exc.detail, code=exc.code, path=path) from None


def _one(node: Node, key: str, path: str) -> Any:
    values = node.get(key, [])
    if len(values) > 1:
        raise PolicyError(
            f"{len(values)} values for {key!r}; expected one", code="invalid_value", path=path
        )
    return values[0] if values else None


def _reject(node: Node, keys: Iterable[str], path: str) -> None:
    for key in keys:
        if key in node:
            raise PolicyError(
                f"ODRL {key!r} is not supported", code="unsupported_feature", path=f"{path}/{key}"
            )


def _kind(types: list[Any], expected: PolicyKind | None, uid: str) -> PolicyKind:
    names = {odrl_term(t) for t in types if isinstance(t, str)}
    if "Policy" in names:  # ODRL: a policy of no subclass is a Set
        names = (names - {"Policy"}) | {"Set"}
    kinds = [k for k in POLICY_KINDS if k in names]
    if len(kinds) != 1 and (types or len(kinds) > 1):
        raise PolicyError(
            f"policy {uid!r} has @type {types!r}; expected one of {', '.join(POLICY_KINDS)}",
            code="invalid_type",
            path="/@type",
        )
    kind: PolicyKind = kinds[0] if kinds else (expected or "Set")
    if expected is not None and kind != expected:
        raise PolicyError(
            f"policy {uid!r} is an {kind}, expected an {expected}",
            code="wrong_policy_type",
            path="/@type",
        )
    return kind


def _conflict(value: Any, path: str) -> ConflictStrategy | None:
    if value is None:
        return None
    name = _term(value, path)
    for strategy in CONFLICT_STRATEGIES:
        if name == strategy:
            return strategy
    raise PolicyError(
        f"unknown conflict strategy {name!r}; use one of {', '.join(CONFLICT_STRATEGIES)}",
        code="invalid_conflict",
        path=path,
    )


def _iri(value: Any, path: str) -> str:
    if isinstance(value, Mapping) and set(value) == {"@id"}:
        value = value["@id"]
    if isinstance(value, str) and value:
        return value
    raise PolicyError(f"must be an IRI string, got {value!r}", code="invalid_value", path=path)


def _party(value: Any, path: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, Mapping) and set(value) - {"@id", "@type"}:
        raise PolicyError(
            "party objects are not supported, use an id", code="unsupported_feature", path=path
        )
    if isinstance(value, Mapping):
        value = value.get("@id")
    return _iri(value, path)


def _timestamp(value: Any, path: str) -> datetime | None:
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
        f"timestamp {value!r} is not an xsd:dateTime", code="invalid_timestamp", path=path
    )


def _operand(value: Any, path: str) -> Value:
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
    if isinstance(value, Mapping) and "@type" in value and "@value" not in value:
        return _flood_alert(value, path)
    if (
        isinstance(value, Mapping)
        and "@value" in value
        and set(value) <= {"@value", "@type", "@language"}
    ):
        datatype, language = value.get("@type"), value.get("@language")
        if isinstance(datatype, list) and len(datatype) == 1:
            datatype = datatype[0]
        if datatype is None and language is None:
            return _operand(value["@value"], path)
        if isinstance(datatype, str) and language is None:
            if expand(datatype) == XSD + "string":
                return _operand(value["@value"], path)
            raw = value["@value"]
            lexical = raw if isinstance(raw, str) else _operand(raw, path)
            text = lexical.value if isinstance(lexical, LiteralValue) else str(lexical)
            return LiteralValue(text, expand(datatype))
        if isinstance(language, str) and datatype is None and isinstance(value["@value"], str):
            return LiteralValue(value["@value"], None, language.lower())
    raise PolicyError(f"unsupported rightOperand {value!r}", code="unsupported_feature", path=path)


def _flood_alert(value: Mapping[str, Any], path: str) -> FloodAlert:
    node = _node(value, path)
    types = {odrl_term(t) for t in node.get("@type", []) if isinstance(t, str)}
    if types != {"FloodAlert"}:
        raise PolicyError(
            f"unsupported rightOperand of @type {sorted(types)}; the profile's one typed "
            "operand is FloodAlert",
            code="unsupported_feature",
            path=path,
        )
    level = _one(node, "alertLevel", path)
    area = _one(node, "area", path)
    if isinstance(level, Mapping):
        level = level.get("@value")
    if isinstance(level, str) and level.isascii() and level.isdigit():
        level = int(level)
    if isinstance(level, bool) or not isinstance(level, int):
        raise PolicyError(
            f"alertLevel must be an integer, got {level!r}",
            code="invalid_value",
            path=f"{path}/alertLevel",
        )
    return FloodAlert(level, expand(_iri(area, f"{path}/area")))


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
