"""Decisions when a transfer starts (provider side), on the agreement's stored policy.

Unlike negotiation, uses so far are known here: a transfer of an agreement whose `count` is
used up is refused at its request, not at its first read. What the provider knew of the
consumer at that moment (verified claims, stated purpose) is kept with the transfer, for the
decisions of every data-plane access after it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connector.policy.facts import agreed_payment, stated_purpose
from connector.store.policy_queries import accesses, save_context
from connector.store.store import Transaction
from connector.store.tables import AgreementRow
from policies.decision import Decision, DecisionRequest, PolicyDecisionPoint
from policies.odrl import parse_policy


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def decide_transfer_start(
    pdp: PolicyDecisionPoint,
    tx: Transaction,
    agreement: AgreementRow,
    requester: dict[str, Any],
    now: datetime,
) -> Decision:
    policy = parse_policy(agreement.policy)
    uses, last = accesses(tx, agreement.id)
    return pdp.decide(
        policy,
        DecisionRequest(
            phase="transfer",
            requester=requester,
            now=now,
            purpose=stated_purpose(policy),
            uses=uses,
            agreed_at=aware(agreement.signed_at),
            last_use=aware(last) if last is not None else None,
            payment=agreed_payment(policy),
        ),
    )


def keep_start_context(
    tx: Transaction,
    transfer_id: str,
    agreement: AgreementRow,
    requester: dict[str, Any],
    now: datetime,
) -> None:
    save_context(
        tx,
        transfer_id=transfer_id,
        agreement_id=agreement.id,
        requester=requester,
        purpose=stated_purpose(parse_policy(agreement.policy)),
        now=now,
    )
