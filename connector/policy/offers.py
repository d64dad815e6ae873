"""A consumer's terms against the provider's offer it answers (provider side).

The consumer may ask for narrower terms than an offer (a narrower purpose, fewer requests, a
shorter period): they are acceptable when everything they permit lies within the offer, under
at least its prohibitions, duties and obligations (`policies.comparison.compare_policies`).
Wider terms are refused with what they drop. The agreement then grants exactly the consumer's
terms, and the owner's offer is what the decision point decides on, for the purpose the
consumer states in its terms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from connector.policy.stored import stored_policy
from connector.store.tables import OfferRow
from policies.comparison import compare_policies
from policies.explain import render
from policies.odrl import Policy


@dataclass(frozen=True)
class CounterOfferVerdict:
    offer: OfferRow | None  # the provider's offer it answers, when acceptable
    reasons: tuple[str, ...] = ()


def judge_counter_offer(ours: Sequence[OfferRow], terms: Policy) -> CounterOfferVerdict:
    """Whether `terms` (not the same as any offer) are acceptable as a narrowing of the offer
    they name by @id."""
    named = [o for o in ours if o.id == terms.uid]
    if not named:
        return CounterOfferVerdict(
            None, ("the requested terms match none of the provider's offers",)
        )
    offer = named[0]
    comparison = compare_policies(stored_policy(offer.policy), terms)
    if comparison.acceptable:
        return CounterOfferVerdict(offer)
    reasons = tuple(render(r, "en") for r in comparison.reasons)
    return CounterOfferVerdict(
        None, (f"the requested terms are wider than offer {offer.id}", *reasons)
    )
