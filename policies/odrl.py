"""ODRL for DSP: the public surface of the policy model, parser and comparison.

    from policies.odrl import Policy, parse_policy, same_terms

The pieces live in `terms` (vocabulary, canonical spelling), `model` (values and their JSON),
`parser` (reading what peers send) and `comparison` (structural equality of terms).
"""

from policies.comparison import same_terms, terms_key
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
    format_timestamp,
)
from policies.parser import parse_constraint, parse_policy, parse_rule
from policies.terms import LogicalOperator, Operator

__all__ = [
    "POLICY_KINDS",
    "Constraint",
    "ConstraintLike",
    "LiteralValue",
    "LogicalConstraint",
    "LogicalOperator",
    "Operator",
    "Policy",
    "PolicyKind",
    "Reference",
    "RightOperand",
    "Rule",
    "Value",
    "format_timestamp",
    "parse_constraint",
    "parse_policy",
    "parse_rule",
    "same_terms",
    "terms_key",
]
