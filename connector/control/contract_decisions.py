"""The contract decisions of a negotiation, as plain functions of their inputs.

A provider agrees when the consumer asks for one of its offers with the same ODRL terms and
the policy decision point permits it for this consumer; an offer marked `requires_approval`
parks the negotiation for a human. A consumer accepts an agreement only if it is exactly what
was negotiated.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from connector.control.process import new_pid
from connector.policy.facts import agreed_payment, stated_purpose
from connector.policy.offers import judge_counter_offer
from connector.policy.stored import stored_policy
from connector.store.tables import OfferRow
from policies.decision import DecisionRequest, PolicyDecisionPoint
from policies.odrl import Policy, same_terms


@dataclass(frozen=True)
class OfferDecision:
    action: Literal["agree", "park", "refuse"]
    code: str | None = None
    reasons: tuple[str, ...] = ()
    narrowed: str | None = None
    """The offer whose terms the request narrows (None: it asked for an offer as it is)."""


def decide_on_request(
    ours: Sequence[OfferRow],
    offer: Policy,
    *,
    pdp: PolicyDecisionPoint,
    requester: Mapping[str, Any],
    now: datetime,
) -> OfferDecision:
    """What a provider does with a consumer's request for `offer` on one of its datasets."""
    matching = [o for o in ours if same_terms(stored_policy(o.policy), offer)]
    # The offer the consumer names decides, when it still has the same terms; another offer
    # with identical terms (say, one that needs approval) must not capture it.
    matching = [o for o in matching if o.id == offer.uid] or matching
    if any(o.requires_approval for o in matching) or (
        not matching and any(o.requires_approval for o in ours)
    ):
        return OfferDecision("park")
    narrowed = None
    if not matching:  # narrower terms than the offer they name are acceptable (policy/offers)
        verdict = judge_counter_offer(ours, offer)
        if verdict.offer is None:
            return OfferDecision("refuse", "offer_not_acceptable", verdict.reasons)
        matching = [verdict.offer]
        narrowed = verdict.offer.id
    decision = pdp.decide(
        stored_policy(matching[0].policy),
        DecisionRequest(
            phase="negotiation",
            requester=requester,
            now=now,
            purpose=stated_purpose(offer),
            payment=agreed_payment(offer),
        ),
    )
    if decision.allowed:
        return OfferDecision("agree", narrowed=narrowed)
    return OfferDecision("refuse", "policy_denied", decision.reasons, narrowed)


def agreement_for(
    offer: Policy, *, dataset_id: str, provider: str, consumer: str, now: datetime
) -> Policy:
    """The agreement granting exactly the offer's terms, between the two parties."""
    return dataclasses.replace(
        offer,
        kind="Agreement",
        uid=new_pid(),
        target=dataset_id,
        assigner=provider,
        assignee=consumer,
        timestamp=now,
    )


def agreement_problem(
    agreement: Policy, *, dataset_id: str, provider: str, consumer: str, last_offer: Policy
) -> str | None:
    """Why a consumer must not accept this agreement, or None."""
    if agreement.target != dataset_id:
        return f"target {agreement.target!r} is not the negotiated dataset {dataset_id!r}"
    if agreement.assigner != provider:
        return "assigner is not the provider"
    if agreement.assignee != consumer:
        return "assignee is not this consumer"
    if not same_terms(agreement, last_offer):
        return "its terms differ from the last offer"
    return None
