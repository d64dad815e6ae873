"""A policy in a few plain lines for the console, in Japanese or English."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.decision import show_rule_constraints
from policies.errors import PolicyError
from policies.model import Constraint, ConstraintLike, LogicalConstraint, Rule
from policies.parser import parse_policy

_KINDS = {
    "permission": ("許可", "may"),
    "prohibition": ("禁止", "must not"),
    "obligation": ("義務", "must"),
    "duty": ("条件として", "on condition of"),
}


def _short(iri: str) -> str:
    return iri.rsplit("/", 1)[-1].rsplit("#", 1)[-1]


def _rule(kind: str, rule: Rule, ja: bool) -> list[str]:
    word = _KINDS[kind][0 if ja else 1]
    when = show_rule_constraints(rule)
    joiner = "、" if ja else ", "
    if ja:
        head = f"{word}: {_short(rule.action)}" + (
            f"（{joiner.join(when)} のとき）" if when else ""
        )
    else:
        head = f"{word} {_short(rule.action)}" + (f" when {joiner.join(when)}" if when else "")
    lines = [head]
    for duty in rule.duties:
        lines.extend("  " + line for line in _rule("duty", duty, ja))
    return lines


def describe(policy: Mapping[str, Any] | None, lang: str) -> list[str]:
    if not policy:
        return []
    ja = lang == "ja"
    try:
        parsed = parse_policy(policy)
    except PolicyError as exc:
        return [("読めない利用条件: " if ja else "unreadable policy: ") + str(exc)]
    lines: list[str] = []
    for rule in parsed.permissions:
        lines.extend(_rule("permission", rule, ja))
    for rule in parsed.prohibitions:
        lines.extend(_rule("prohibition", rule, ja))
    for rule in parsed.obligations:
        lines.extend(_rule("obligation", rule, ja))
    return lines


# The constraints that decide who is shown an offer at all (connector.policy.visibility).
_WHO = frozenset({"role", "membership", "memberships", "municipalityCode", "spatial", "recipient"})


def _about_who(c: ConstraintLike) -> bool:
    if isinstance(c, LogicalConstraint):
        return any(_about_who(x) for x in c.constraints)
    return isinstance(c, Constraint) and _short(c.left_operand) in _WHO


def who_may_see(policy: Mapping[str, Any] | None, lang: str) -> list[str]:
    """Who the catalogue shows an offer to, in plain words: the identity its permissions ask."""
    ja = lang == "ja"
    if not policy:
        return []
    try:
        parsed = parse_policy(policy)
    except PolicyError as exc:
        return [("読めない利用条件: " if ja else "unreadable policy: ") + str(exc)]
    asks = [
        show_rule_constraints(Rule(action=r.action, constraints=(c,)))[0]
        for r in parsed.permissions
        for c in r.constraints
        if _about_who(c)
    ]
    if not asks:
        return ["信頼された参加者なら誰でも" if ja else "any participant with a trusted credential"]
    lead = "次を満たす参加者のみ: " if ja else "only participants where "
    return [lead + ("、" if ja else ", ").join(dict.fromkeys(asks))]
