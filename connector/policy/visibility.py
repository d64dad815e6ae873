"""Catalogue visibility: which of a dataset's offers a requester is shown, with the reason.

An offer is hidden from a requester whose verified identity can never satisfy it (its role,
memberships, municipality or DID fail the offer's constraints): showing it would only invite a
negotiation that must be refused. An offer that fails only on what changes (a period not yet
begun, an alert not in force, a count) stays visible: it may hold when asked. The catalogue's
per-requester view (`connector.control.catalog`) is where this is applied.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connector.policy.facts import denial_of, stated_purpose
from policies.decision import DecisionRequest, PolicyDecisionPoint
from policies.model import Policy

IDENTITY = frozenset(
    {"role", "membership", "memberships", "municipalityCode", "spatial", "recipient"}
)


@dataclass(frozen=True)
class Visibility:
    offer: Policy
    visible: bool
    reasons: tuple[str, ...] = ()


def visibility(
    pdp: PolicyDecisionPoint,
    offers: Iterable[Policy],
    requester: Mapping[str, Any],
    now: datetime,
) -> Sequence[Visibility]:
    out = []
    for offer in offers:
        decision = pdp.decide(
            offer,
            DecisionRequest(
                phase="catalog", requester=requester, now=now, purpose=stated_purpose(offer)
            ),
        )
        if decision.allowed:
            out.append(Visibility(offer, True))
            continue
        hidden = denial_of(decision).operand in IDENTITY
        out.append(Visibility(offer, not hidden, decision.reasons))
    return out
