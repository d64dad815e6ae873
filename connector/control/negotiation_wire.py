"""Which DSP message a negotiation owes its peer, and where it goes.

The row says what is pending; this turns it into the URL and the exact 2025-1 body. Provider
endpoints are `<base>/negotiations/...`; ours, as a consumer, are at the DSP base too.
"""

from __future__ import annotations

from typing import Any

from connector.control.process import INITIAL, pids
from connector.policy.stored import stored_policy
from connector.protocol.messages import (
    ContractAgreementMessage,
    ContractAgreementVerificationMessage,
    ContractNegotiationEventMessage,
    ContractNegotiationTerminationMessage,
    ContractOfferMessage,
    ContractRequestMessage,
)
from connector.protocol.negotiation import NegotiationEvent as E
from connector.protocol.negotiation_messages import NegotiationEventType
from connector.store.tables import NegotiationRow


def negotiation_message(
    row: NegotiationRow, *, callback_address: str, provider_address: str
) -> tuple[str, dict[str, Any]]:
    """The URL and body of the message `row.pending` asks us to send."""
    pending = E(str(row.pending))
    base = row.counterparty_address.rstrip("/")
    consumer_pid, provider_pid = pids(row)
    detail = row.pending_detail or {}
    path = f"{base}/negotiations/{row.peer_pid}"
    if pending is E.CONTRACT_REQUEST:
        offer = stored_policy(detail.get("offer", row.offer))  # a counter-request's own terms
        if row.state == INITIAL:
            msg: Any = ContractRequestMessage(
                consumer_pid=consumer_pid, offer=offer, callback_address=callback_address
            )
            return f"{base}/negotiations/request", msg.to_json()
        msg = ContractRequestMessage(
            consumer_pid=consumer_pid, provider_pid=provider_pid, offer=offer
        )
        return f"{path}/request", msg.to_json()
    if pending is E.CONTRACT_OFFER:
        offer = stored_policy(detail.get("offer", row.offer))
        if row.state == INITIAL:
            msg = ContractOfferMessage(
                provider_pid=provider_pid, offer=offer, callback_address=provider_address
            )
            return f"{base}/negotiations/offers", msg.to_json()
        msg = ContractOfferMessage(
            provider_pid=provider_pid, consumer_pid=consumer_pid, offer=offer
        )
        return f"{path}/offers", msg.to_json()
    if pending in (E.ACCEPTED, E.FINALIZED):
        msg = ContractNegotiationEventMessage(
            provider_pid=provider_pid,
            consumer_pid=consumer_pid,
            event_type=NegotiationEventType(pending.value),
        )
        return f"{path}/events", msg.to_json()
    if pending is E.AGREEMENT:
        msg = ContractAgreementMessage(
            provider_pid=provider_pid,
            consumer_pid=consumer_pid,
            agreement=stored_policy(detail["agreement"]),
        )
        return f"{path}/agreement", msg.to_json()
    if pending is E.VERIFICATION:
        msg = ContractAgreementVerificationMessage(
            provider_pid=provider_pid, consumer_pid=consumer_pid
        )
        return f"{path}/agreement/verification", msg.to_json()
    msg = ContractNegotiationTerminationMessage(
        provider_pid=provider_pid,
        consumer_pid=consumer_pid,
        code=detail.get("code"),
        reason=detail.get("reason") or None,
    )
    return f"{path}/termination", msg.to_json()
