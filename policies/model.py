"""The ODRL policy model: immutable values in one canonical spelling, and their DSP JSON form.

Constructors canonicalise term spellings (`odrl:eq` -> `eq`) and enforce the invariants the
DSP 2025-1 contract schema relies on, so any `Policy` that exists can be serialised into a
schema-valid offer or agreement.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from policies.errors import PolicyError
from policies.terms import LogicalOperator, Operator, compact, odrl_term

PolicyKind = Literal["Offer", "Agreement", "Set"]
POLICY_KINDS: tuple[PolicyKind, ...] = ("Offer", "Agreement", "Set")
ConflictStrategy = Literal["perm", "prohibit", "invalid"]
CONFLICT_STRATEGIES: tuple[ConflictStrategy, ...] = ("perm", "prohibit", "invalid")


@dataclass(frozen=True)
class LiteralValue:
    """A typed or language-tagged literal (`{"@value": ..., "@type" | "@language": ...}`).

    `datatype` is a full IRI. Plain strings are not wrapped: they stay `str`.
    """

    value: str
    datatype: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class Reference:
    """A node reference (`{"@id": ...}`): an IRI, not a string literal."""

    iri: str


@dataclass(frozen=True)
class FloodAlert:
    """The profile's event: "a flood alert of `level` or higher is in force for `area`".

    `area` is the IRI of a river basin or of a gauging station; `level` is the 警戒レベル
    (1-5) the owner's connector derives from its gauge readings and the MLIT thresholds.
    JSON: `{"@type": "FloodAlert", "alertLevel": 3, "area": {"@id": ...}}`.
    """

    level: int
    area: str

    def __post_init__(self) -> None:
        if isinstance(self.level, bool) or not isinstance(self.level, int):
            raise PolicyError(
                f"a flood alert level must be an integer, got {self.level!r}",
                code="invalid_value",
            )
        if not isinstance(self.area, str) or not self.area:
            raise PolicyError("a flood alert names the IRI of its area", code="invalid_value")


Value = str | LiteralValue | Reference | FloodAlert
RightOperand = Value | tuple[Value, ...]


@dataclass(frozen=True)
class Constraint:
    """An atomic constraint: `left_operand operator right_operand`."""

    left_operand: str
    operator: Operator
    right_operand: RightOperand
    unit: str | None = None
    """ODRL `unit` of the right operand; the profile uses it for `payAmount`'s currency."""

    def __post_init__(self) -> None:
        if not isinstance(self.left_operand, str) or not self.left_operand:
            raise PolicyError("a constraint needs a leftOperand", code="invalid_constraint")
        object.__setattr__(self, "left_operand", odrl_term(self.left_operand))
        object.__setattr__(self, "operator", operator_of(self.operator))
        operand: Any = self.right_operand
        if isinstance(operand, list):
            operand = tuple(operand)
        if isinstance(operand, tuple) and len(operand) == 1:
            operand = operand[0]  # JSON-LD: a one-element array is the value itself
        if operand == () or not _is_operand(operand):
            raise PolicyError(
                f"rightOperand of {self.left_operand!r} must be a string, literal, "
                f"reference or a non-empty list of them, got {operand!r}",
                code="invalid_constraint",
            )
        object.__setattr__(self, "right_operand", operand)


@dataclass(frozen=True)
class LogicalConstraint:
    """`and` / `or` / `xone` / `andSequence` over other constraints."""

    operator: LogicalOperator
    constraints: tuple[ConstraintLike, ...]

    def __post_init__(self) -> None:
        try:
            operator = LogicalOperator(odrl_term(str(self.operator)))
        except ValueError:
            raise PolicyError(
                f"unknown logical operator {self.operator!r}; use one of "
                + ", ".join(o.value for o in LogicalOperator),
                code="invalid_constraint",
            ) from None
        object.__setattr__(self, "operator", operator)
        object.__setattr__(self, "constraints", tuple(self.constraints))
        if not self.constraints:
            raise PolicyError(
                f"logical constraint {operator.value!r} is empty", code="invalid_constraint"
            )


ConstraintLike = Constraint | LogicalConstraint


@dataclass(frozen=True)
class Rule:
    """A permission, prohibition or duty: an action, constraints (all must hold), duties."""

    action: str
    constraints: tuple[ConstraintLike, ...] = ()
    duties: tuple[Rule, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.action, str) or not self.action:
            raise PolicyError("a rule needs an action", code="missing_action")
        object.__setattr__(self, "action", odrl_term(self.action))
        object.__setattr__(self, "constraints", tuple(self.constraints))
        object.__setattr__(self, "duties", tuple(self.duties))


@dataclass(frozen=True, kw_only=True)
class Policy:
    """An ODRL policy as DSP uses it: an Offer, an Agreement or a Set.

    `target` is the dataset id. A catalogue offer has none (the enclosing dataset is its
    target); an offer inside a negotiation message and every agreement have one.
    """

    kind: PolicyKind
    uid: str
    target: str | None = None
    assigner: str | None = None
    assignee: str | None = None
    permissions: tuple[Rule, ...] = ()
    prohibitions: tuple[Rule, ...] = ()
    obligations: tuple[Rule, ...] = ()
    profile: tuple[str, ...] = ()
    timestamp: datetime | None = None
    conflict: ConflictStrategy | None = None
    """ODRL's conflict strategy; None means ODRL's default, `invalid`."""

    def __post_init__(self) -> None:
        if self.conflict is not None and self.conflict not in CONFLICT_STRATEGIES:
            raise PolicyError(
                f"unknown conflict strategy {self.conflict!r}; use one of "
                + ", ".join(CONFLICT_STRATEGIES),
                code="invalid_conflict",
            )
        if self.kind not in POLICY_KINDS:
            raise PolicyError(f"unknown policy type {self.kind!r}", code="invalid_type")
        if not isinstance(self.uid, str) or not self.uid:
            raise PolicyError("a policy needs an @id", code="missing_id")
        for name in ("permissions", "prohibitions", "obligations", "profile"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if not self.permissions and not self.prohibitions:
            raise PolicyError(
                f"policy {self.uid!r} has no permission and no prohibition", code="no_rules"
            )
        if self.kind == "Agreement":
            missing = [n for n in ("target", "assigner", "assignee") if not getattr(self, n)]
            if missing:
                raise PolicyError(
                    f"agreement {self.uid!r} lacks {', '.join(missing)}",
                    code="incomplete_agreement",
                )

    def with_(self, **changes: Any) -> Policy:
        """A copy with some fields replaced (validated like any new policy)."""
        return dataclasses.replace(self, **changes)

    def to_agreement(
        self,
        *,
        uid: str,
        assigner: str,
        assignee: str,
        timestamp: datetime,
        target: str | None = None,
    ) -> Policy:
        """The agreement that grants exactly these terms (DSP: one target, both parties)."""
        target = target or self.target
        if not target:
            raise PolicyError(
                f"policy {self.uid!r} names no target to agree on", code="missing_target"
            )
        return dataclasses.replace(
            self,
            kind="Agreement",
            uid=uid,
            target=target,
            assigner=assigner,
            assignee=assignee,
            timestamp=timestamp,
        )

    def to_json(self, *, include_target: bool = True) -> dict[str, Any]:
        """The DSP 2025-1 compact form; `include_target=False` for an offer inside a dataset."""
        out: dict[str, Any] = {"@id": self.uid, "@type": self.kind}
        if self.profile:
            out["profile"] = self.profile[0] if len(self.profile) == 1 else list(self.profile)
        if self.target and (include_target or self.kind == "Agreement"):
            out["target"] = self.target
        if self.assigner:
            out["assigner"] = self.assigner
        if self.assignee:
            out["assignee"] = self.assignee
        if self.timestamp is not None:
            out["timestamp"] = format_timestamp(self.timestamp)
        if self.conflict is not None:
            out["conflict"] = self.conflict
        for key, rules in (
            ("permission", self.permissions),
            ("prohibition", self.prohibitions),
            ("obligation", self.obligations),
        ):
            if rules:
                out[key] = [rule_to_json(r) for r in rules]
        return out


def rule_to_json(rule: Rule) -> dict[str, Any]:
    out: dict[str, Any] = {"action": rule.action}
    if rule.constraints:
        out["constraint"] = [constraint_to_json(c) for c in rule.constraints]
    if rule.duties:
        out["duty"] = [rule_to_json(d) for d in rule.duties]
    return out


def constraint_to_json(constraint: ConstraintLike) -> dict[str, Any]:
    if isinstance(constraint, LogicalConstraint):
        return {constraint.operator.value: [constraint_to_json(c) for c in constraint.constraints]}
    out = {
        "leftOperand": constraint.left_operand,
        "operator": constraint.operator.value,
        "rightOperand": operand_to_json(constraint.right_operand),
    }
    if constraint.unit is not None:
        out["unit"] = constraint.unit
    return out


def operand_to_json(operand: RightOperand) -> Any:
    if isinstance(operand, tuple):
        return [operand_to_json(v) for v in operand]
    if isinstance(operand, Reference):
        return {"@id": operand.iri}
    if isinstance(operand, FloodAlert):
        return {"@type": "FloodAlert", "alertLevel": operand.level, "area": {"@id": operand.area}}
    if isinstance(operand, LiteralValue):
        out: dict[str, str] = {"@value": operand.value}
        if operand.datatype:
            out["@type"] = compact(operand.datatype)
        if operand.language:
            out["@language"] = operand.language
        return out
    return operand


def format_timestamp(value: datetime) -> str:
    """xsd:dateTime as the contract schema's pattern accepts it (UTC written as `Z`)."""
    if value.utcoffset() == timedelta(0):
        return value.replace(tzinfo=None).isoformat() + "Z"
    return value.isoformat()


def operator_of(value: object) -> Operator:
    """`odrl:eq`, `eq` or the full IRI -> `Operator.EQ`; `PolicyError` for anything else."""
    try:
        return Operator(odrl_term(str(value)))
    except ValueError:
        raise PolicyError(
            f"unknown operator {value!r}; DSP allows " + ", ".join(o.value for o in Operator),
            code="unknown_operator",
        ) from None


def _is_operand(value: object) -> bool:
    if isinstance(value, tuple):
        return all(isinstance(v, str | LiteralValue | Reference | FloodAlert) for v in value)
    return isinstance(value, str | LiteralValue | Reference | FloodAlert)
