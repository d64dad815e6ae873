"""tsunagu's ODRL policy profile: the terms a policy may use, and the write-time check.

Profile IRI `https://w3id.org/tsunagu/policy` (a policy names it in `profile`); its own terms
live under `https://w3id.org/tsunagu/policy/` (`tsup:`), ODRL 2.2 terms keep their ODRL IRIs.
The JSON-LD context is package data (`tsunagu-policy.jsonld`, published as
`https://w3id.org/tsunagu/policy/context.jsonld`, never fetched at run time);
`docs/policy-profile.md` lists every term with its full IRI.

`check_policy` is the entry point for a policy being *written* (dataset add, offer,
counter-offer): it parses, then refuses every action, left operand, operator and value the
profile does not define or cannot evaluate, naming the term and the place. `parse_policy`
stays lenient for what peers send; the decision point refuses what it cannot evaluate.
"""

from __future__ import annotations

import functools
import importlib.resources as resources
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from policies.errors import PolicyError, UnknownTerm
from policies.geography import Geography
from policies.model import ConstraintLike, LogicalConstraint, Policy, PolicyKind, Rule
from policies.operands import COUNT_OPERAND, OPERANDS, Environment, Operand, compile_constraint
from policies.parser import parse_policy
from policies.terms import ODRL, TSUNAGU, LogicalOperator, Operator, expand

PROFILE_IRI = "https://w3id.org/tsunagu/policy"
CONTEXT_IRI = "https://w3id.org/tsunagu/policy/context.jsonld"
CONTEXT_FILE = "tsunagu-policy.jsonld"


@dataclass(frozen=True)
class Action:
    name: str
    iri: str
    included_in: str | None
    duty: bool
    """A duty action (what the consumer must do), not a usage to be permitted."""
    label_en: str
    label_ja: str


ACTIONS: Mapping[str, Action] = {
    a.name: a
    for a in (
        Action("use", ODRL + "use", None, False, "use", "利用"),
        Action("read", ODRL + "read", "use", False, "read", "閲覧・読み出し"),
        Action("distribute", ODRL + "distribute", "use", False,
               "distribute (onward transfer)", "第三者への提供"),
        Action("aggregate", ODRL + "aggregate", "use", False, "aggregate", "集計"),
        Action("anonymize", ODRL + "anonymize", "use", False, "anonymize", "匿名化"),
        Action("attribute", ODRL + "attribute", None, True, "attribute", "出典の表示"),
        Action("inform", ODRL + "inform", None, True, "inform", "利用の通知"),
        Action("delete", ODRL + "delete", None, True, "delete", "削除"),
        Action("compensate", ODRL + "compensate", None, True, "compensate (pay)", "対価の支払い"),
        Action("obtainConsent", ODRL + "obtainConsent", None, True,
               "obtain consent", "本人同意の取得"),
    )
}  # fmt: skip

# The profile's own terms beyond left operands (right-operand classes and their properties).
OWN_TERMS: Mapping[str, str] = {
    "FloodAlert": TSUNAGU + "FloodAlert",
    "alertLevel": TSUNAGU + "alertLevel",
    "area": TSUNAGU + "area",
}

_OWN_OPERANDS = frozenset({"role", "membership", "memberships", "municipalityCode"})


def operand_iri(name: str) -> str:
    return (TSUNAGU if name in _OWN_OPERANDS else ODRL) + name


def operands() -> tuple[Operand, ...]:
    """Every left operand of the profile, `count` included."""
    return (*OPERANDS.values(), COUNT_OPERAND)


@functools.lru_cache(maxsize=1024)  # a handful of actions, asked about on every decision
def covers(rule_action: str, requested: str) -> bool:
    """Whether a rule on `rule_action` covers a request for `requested` (ODRL includedIn:
    a permission or prohibition of `use` covers `read`, `distribute`, ...)."""
    current: str | None = requested
    while current is not None:
        if current == rule_action:
            return True
        action = ACTIONS.get(current)
        current = action.included_in if action else None
    return False


@functools.cache
def _context_text() -> str:
    return resources.files("policies.profile").joinpath(CONTEXT_FILE).read_text(encoding="utf-8")


def context() -> dict[str, Any]:
    """The profile's JSON-LD context document (a fresh copy each call)."""
    document: dict[str, Any] = json.loads(_context_text())
    return document


def check_policy(
    data: Mapping[str, Any] | Policy,
    *,
    expected_kind: PolicyKind | None = None,
    geography: Geography | None = None,
) -> Policy:
    """Parse a policy for writing and refuse anything outside the profile.

    Raises `UnknownTerm` (code `unknown_term`, `unknown_operand`, `unsupported_operator`,
    `unknown_profile`) with `term` and `path`, or another `PolicyError` with its `path` for
    a malformed policy, a value of the wrong type, a date-time without a time zone, a count
    that cannot be counted, a basin or station the geography does not know.
    """
    if isinstance(data, Policy):
        policy = data
    else:
        _check_keys(data, "")
        policy = parse_policy(data, expected_kind=expected_kind)
    if policy.profile and PROFILE_IRI not in policy.profile:
        raise UnknownTerm(
            f"the policy declares the profile(s) {', '.join(policy.profile)}, not tsunagu's "
            f"({PROFILE_IRI})",
            term=policy.profile[0],
            code="unknown_profile",
            path="/profile",
        )
    env = Environment(geography=geography, purposes=None)
    for key, rules, duty in (
        ("permission", policy.permissions, False),
        ("prohibition", policy.prohibitions, False),
        ("obligation", policy.obligations, True),
    ):
        for i, rule in enumerate(rules):
            _check_rule(rule, f"/{key}/{i}", env, duty=duty, counted=key == "permission")
    return policy


def terms_used(policy: Policy) -> dict[str, tuple[str, ...]]:
    """The actions, left operands and operators a policy uses (for `tsunagu policy check`)."""
    actions: set[str] = set()
    left: set[str] = set()
    ops: set[str] = set()

    def walk(c: ConstraintLike) -> None:
        if isinstance(c, LogicalConstraint):
            ops.add(c.operator.value)
            for x in c.constraints:
                walk(x)
        else:
            left.add(c.left_operand)
            ops.add(c.operator.value)

    def rule(r: Rule) -> None:
        actions.add(r.action)
        for c in r.constraints:
            walk(c)
        for d in r.duties:
            rule(d)

    for r in (*policy.permissions, *policy.prohibitions, *policy.obligations):
        rule(r)
    return {"actions": tuple(sorted(actions)), "leftOperands": tuple(sorted(left)),
            "operators": tuple(sorted(ops))}  # fmt: skip


def _check_rule(rule: Rule, path: str, env: Environment, *, duty: bool, counted: bool) -> None:
    action = ACTIONS.get(rule.action)
    if action is None:
        raise UnknownTerm(
            f"action {rule.action!r} is not defined by tsunagu's policy profile; use one of "
            + ", ".join(ACTIONS),
            term=rule.action,
            path=f"{path}/action",
        )
    if action.duty != duty:
        kind = "a duty" if action.duty else "a usage action"
        where = "a duty or obligation" if duty else "a permission or prohibition"
        raise PolicyError(
            f"{rule.action!r} is {kind}, not allowed as the action of {where}",
            code="misplaced_action",
            path=f"{path}/action",
        )
    for i, c in enumerate(rule.constraints):
        _check_constraint(c, f"{path}/constraint/{i}", env, counted)
    for i, d in enumerate(rule.duties):
        _check_rule(d, f"{path}/duty/{i}", env, duty=True, counted=False)


def _check_constraint(c: ConstraintLike, path: str, env: Environment, counted: bool) -> None:
    if isinstance(c, LogicalConstraint):
        inner = counted and c.operator in (LogicalOperator.AND, LogicalOperator.AND_SEQUENCE)
        for i, x in enumerate(c.constraints):
            _check_constraint(x, f"{path}/{c.operator.value}/{i}", env, inner)
        return
    if c.operator is Operator.TERM_LTEQ:
        raise UnknownTerm(
            "operator 'term-lteq' is not an ODRL operator",
            term="term-lteq",
            path=f"{path}/operator",
        )
    compile_constraint(c, env, path, counted=counted)


def _check_keys(data: object, path: str, depth: int = 0) -> None:
    """Keys spelled in the profile's namespace that the profile does not define would be
    ignored by the parser; when writing, they are refused instead."""
    if depth > 40:
        return  # the parser bounds the depth and reports it with the place
    if isinstance(data, Mapping):
        for key, value in data.items():
            if isinstance(key, str):
                full = expand(key)
                if full.startswith(TSUNAGU) and full[len(TSUNAGU) :] not in OWN_TERMS:
                    raise UnknownTerm(
                        f"{key!r} is not a term of tsunagu's policy profile",
                        term=key,
                        path=f"{path}/{key}",
                    )
            _check_keys(value, f"{path}/{key}", depth + 1)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            _check_keys(value, f"{path}/{i}", depth + 1)


def all_terms() -> Iterable[tuple[str, str, str]]:
    """(kind, compact name, full IRI) for every term of the profile, for the documentation."""
    for o in operands():
        yield "leftOperand", o.name, operand_iri(o.name)
    for a in ACTIONS.values():
        yield ("duty action" if a.duty else "action"), a.name, a.iri
    for name, iri in OWN_TERMS.items():
        yield "term", name, iri
