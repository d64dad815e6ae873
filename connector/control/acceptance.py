"""A consumer's decision on a provider's offer, and when an agreement's time window opens:
plain functions of their inputs.

An offer binds the consumer only when it is what the consumer asked for — the same terms,
compared semantically (each policy as narrow as the other: `compare_policies` both ways, so
spelling, order and equivalent constraints do not matter, but an added duty or a narrower
purpose does) — or when one of the consumer's acceptance rules allows it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connector.control.hold_rules import AcceptRule
from policies.comparison import compare_policies
from policies.errors import PolicyError
from policies.model import Constraint, Policy, Reference, Rule
from policies.purposes import PurposeTree, vocabulary_purposes
from policies.terms import Operator
from policies.values import parse_datetime, texts


@dataclass(frozen=True)
class Acceptance:
    accepted: bool
    reason: str


def same_terms_as_asked(asked: Policy, offer: Policy, tree: PurposeTree | None = None) -> bool:
    return (
        compare_policies(asked, offer, purposes=tree).acceptable
        and compare_policies(offer, asked, purposes=tree).acceptable
    )


def decide_on_offer(
    offer: Policy,
    *,
    asked: Policy | None,
    rules: Sequence[AcceptRule],
    provider: str,
    claims: Mapping[str, Any],
    dataset_id: str,
    tree: PurposeTree | None = None,
) -> Acceptance:
    """Whether the consumer accepts `offer` by itself; `asked` is the consumer's own last
    request (None for an offer that opened the negotiation)."""
    if asked is not None and same_terms_as_asked(asked, offer, tree):
        return Acceptance(True, "the offer has the terms we asked for")
    misses: list[str] = []
    for i, rule in enumerate(rules):
        miss = rule_miss(rule, offer, provider=provider, claims=claims, dataset_id=dataset_id)
        if miss is None:
            return Acceptance(True, f"acceptance rule {i + 1} allows it")
        misses.append(f"rule {i + 1}: {miss}")
    opening = (
        "the provider opened with an offer"
        if asked is None
        else ("the offer's terms differ from what we asked for")
    )
    if not rules:
        return Acceptance(False, f"{opening} and no acceptance rule is configured")
    return Acceptance(False, f"{opening} and no acceptance rule allows it ({'; '.join(misses)})")


def rule_miss(
    rule: AcceptRule,
    offer: Policy,
    *,
    provider: str,
    claims: Mapping[str, Any],
    dataset_id: str,
    tree: PurposeTree | None = None,
) -> str | None:
    """Which condition of `rule` the offer fails, or None when the rule allows it."""
    if rule.peers and provider not in rule.peers:
        return "the provider is not one of the listed peers"
    memberships = set(claims.get("memberships") or ())
    missing = [m for m in rule.member_of if m not in memberships]
    if missing:
        return f"the provider is not a member of {missing[0]}"
    if rule.datasets and dataset_id not in rule.datasets:
        return "the dataset is not one of the listed datasets"
    duties = list(_duties(offer))
    if rule.no_payment and (
        any(d.action == "compensate" for d in duties) or any(_mentions_payment(offer))
    ):
        return "the offer carries a payment duty"
    if rule.duties is not None:
        extra = sorted({d.action for d in duties} - set(rule.duties))
        if extra:
            return f"the offer carries a {extra[0]} duty"
    purposes = tree if tree is not None or not rule.purposes else vocabulary_purposes()
    for purpose in rule.purposes:
        if not any(_permits_purpose(p, purpose, purposes) for p in offer.permissions):
            return f"the offer does not permit use for {purpose}"
    return None


def _duties(offer: Policy) -> Iterator[Rule]:
    for permission in offer.permissions:
        yield from permission.duties
    yield from offer.obligations


def _mentions_payment(offer: Policy) -> Iterator[bool]:
    for rule in (*offer.permissions, *offer.obligations, *_duties(offer)):
        for c in _atoms(rule.constraints):
            yield c.left_operand == "payAmount"


def _atoms(constraints: Sequence[Any]) -> Iterator[Constraint]:
    for c in constraints:
        if isinstance(c, Constraint):
            yield c
        else:
            yield from _atoms(c.constraints)


def _permits_purpose(permission: Rule, purpose: str, tree: PurposeTree | None) -> bool:
    """Whether every purpose constraint of `permission` admits `purpose` (a purpose inside a
    logical constraint cannot be shown to, so it does not)."""
    for c in permission.constraints:
        if isinstance(c, Constraint):
            if c.left_operand == "purpose" and not _admits(c, purpose, tree):
                return False
        elif any(a.left_operand == "purpose" for a in _atoms(c.constraints)):
            return False
    return True


def _admits(c: Constraint, purpose: str, tree: PurposeTree | None) -> bool:
    try:
        values = set(texts(c.right_operand, "value"))
    except PolicyError:
        return False  # a purpose we cannot read admits nothing
    if c.operator is Operator.IS_A:
        assert tree is not None
        return any(tree.is_a(purpose, v) for v in values)
    if c.operator in (Operator.EQ, Operator.IS_ANY_OF):
        return purpose in values
    if c.operator in (Operator.NEQ, Operator.IS_NONE_OF):
        return purpose not in values
    return False


def window_opens(agreement: Policy) -> datetime | None:
    """When the agreement first lets data flow: the latest dateTime lower bound (gteq / gt) of
    its most permissive permission; None when some permission has no lower bound."""
    opens: list[datetime] = []
    for permission in agreement.permissions:
        bounds = []
        for c in permission.constraints:
            if (
                isinstance(c, Constraint)
                and c.left_operand == "dateTime"
                and c.operator in (Operator.GTEQ, Operator.GT)
                and not isinstance(c.right_operand, tuple | Reference)
            ):
                try:
                    bounds.append(parse_datetime(c.right_operand))
                except PolicyError:
                    continue
        if not bounds:
            return None
        opens.append(max(bounds))
    return min(opens) if opens else None
