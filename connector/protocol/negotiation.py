"""The contract negotiation state machine (DSP 2025-1 section 5.1).

Theory of operation
-------------------
Everything that decides whether a negotiation message is legal lives in this file, and it is
*data*: `NEGOTIATION_TRANSITIONS` maps (sender role, current state, event) to the next state.
A table can be read against the spec line by line, printed as a diagram, and tested
exhaustively; a web of if-statements spread over handlers can do none of that.

The table does not know which side we are. Both connectors in a negotiation keep the same DSP
state, and a state changes when the receiver acknowledges a message, so each side applies the
same transition for the same message:

- inbound (a handler got a message):   next_negotiation_state(sender=<peer's role>, ...)
- outbound (the peer acknowledged ours): next_negotiation_state(sender=<our role>, ...)

`state=None` means "no process yet": only the two opening messages are legal there. Nothing
leaves FINALIZED or TERMINATED. The spec's prose lets either party terminate "at any state"
while its diagram draws fewer arrows; we accept termination from either party in every
non-terminal state (the superset), and reject everything after a terminal state.

This module does no I/O and keeps no state; the control plane stores the state and calls in.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from connector.errors import InvalidTransition
from connector.protocol.negotiation_messages import (
    ContractAgreementMessage,
    ContractAgreementVerificationMessage,
    ContractNegotiationEventMessage,
    ContractNegotiationTerminationMessage,
    ContractOfferMessage,
    ContractRequestMessage,
    NegotiationEventType,
    NegotiationMessage,
)
from connector.protocol.roles import Role
from connector.protocol.states import NegotiationState


class NegotiationEvent(StrEnum):
    """A negotiation message, as the state machine sees it (the values are stable: the control
    plane stores them)."""

    CONTRACT_REQUEST = "CONTRACT_REQUEST"
    CONTRACT_OFFER = "CONTRACT_OFFER"
    ACCEPTED = "ACCEPTED"  # ContractNegotiationEventMessage, eventType ACCEPTED
    AGREEMENT = "AGREEMENT"
    VERIFICATION = "VERIFICATION"
    FINALIZED = "FINALIZED"  # ContractNegotiationEventMessage, eventType FINALIZED
    TERMINATION = "TERMINATION"

    @property
    def message_name(self) -> str:
        return _MESSAGE_NAMES[self]


_MESSAGE_NAMES = {
    NegotiationEvent.CONTRACT_REQUEST: "ContractRequestMessage",
    NegotiationEvent.CONTRACT_OFFER: "ContractOfferMessage",
    NegotiationEvent.ACCEPTED: "ContractNegotiationEventMessage(ACCEPTED)",
    NegotiationEvent.AGREEMENT: "ContractAgreementMessage",
    NegotiationEvent.VERIFICATION: "ContractAgreementVerificationMessage",
    NegotiationEvent.FINALIZED: "ContractNegotiationEventMessage(FINALIZED)",
    NegotiationEvent.TERMINATION: "ContractNegotiationTerminationMessage",
}

_P, _C = Role.PROVIDER, Role.CONSUMER
_S, _E = NegotiationState, NegotiationEvent
TERMINAL_STATES = frozenset({_S.FINALIZED, _S.TERMINATED})

Key = tuple[Role, NegotiationState | None, NegotiationEvent]

NEGOTIATION_TRANSITIONS: Mapping[Key, NegotiationState] = MappingProxyType(
    {
        # who       from           message                 -> to
        (_C, None, _E.CONTRACT_REQUEST): _S.REQUESTED,  # consumer opens
        (_P, None, _E.CONTRACT_OFFER): _S.OFFERED,  # provider opens
        (_P, _S.REQUESTED, _E.CONTRACT_OFFER): _S.OFFERED,  # counter-offer
        (_P, _S.REQUESTED, _E.AGREEMENT): _S.AGREED,
        (_C, _S.OFFERED, _E.CONTRACT_REQUEST): _S.REQUESTED,  # counter-offer
        (_C, _S.OFFERED, _E.ACCEPTED): _S.ACCEPTED,
        (_P, _S.ACCEPTED, _E.AGREEMENT): _S.AGREED,
        (_C, _S.AGREED, _E.VERIFICATION): _S.VERIFIED,
        (_P, _S.VERIFIED, _E.FINALIZED): _S.FINALIZED,
        **{
            (role, state, _E.TERMINATION): _S.TERMINATED
            for role in Role
            for state in NegotiationState
            if state not in TERMINAL_STATES
        },
    }
)


def next_negotiation_state(
    sender: Role, state: NegotiationState | None, event: NegotiationEvent
) -> NegotiationState:
    """The state after `sender` sends `event` in `state`; `InvalidTransition` if not allowed."""
    try:
        return NEGOTIATION_TRANSITIONS[(sender, state, event)]
    except KeyError:
        raise InvalidTransition(_refusal(sender, state, event)) from None


def allowed_negotiation_events(
    sender: Role, state: NegotiationState | None
) -> frozenset[NegotiationEvent]:
    """What `sender` may send in `state` (e.g. to offer an operator only legal actions)."""
    return frozenset(e for (r, s, e) in NEGOTIATION_TRANSITIONS if r == sender and s == state)


def is_terminal(state: NegotiationState | None) -> bool:
    return state in TERMINAL_STATES


def negotiation_event_of(message: NegotiationMessage) -> NegotiationEvent:
    """The event a parsed negotiation message stands for."""
    if isinstance(message, ContractNegotiationEventMessage):
        if message.event_type is NegotiationEventType.ACCEPTED:
            return _E.ACCEPTED
        return _E.FINALIZED
    event = _EVENT_OF_TYPE.get(type(message))
    if event is None:
        raise TypeError(f"{type(message).__name__} does not move a negotiation")
    return event


_EVENT_OF_TYPE: Mapping[type, NegotiationEvent] = {
    ContractRequestMessage: _E.CONTRACT_REQUEST,
    ContractOfferMessage: _E.CONTRACT_OFFER,
    ContractAgreementMessage: _E.AGREEMENT,
    ContractAgreementVerificationMessage: _E.VERIFICATION,
    ContractNegotiationTerminationMessage: _E.TERMINATION,
}


def _refusal(sender: Role, state: NegotiationState | None, event: NegotiationEvent) -> str:
    message = NegotiationEvent(event).message_name
    if state is None:
        return (
            f"a {sender} may not send {message} when no negotiation exists yet "
            "(a consumer opens with ContractRequestMessage, a provider with ContractOfferMessage)"
        )
    if state in TERMINAL_STATES:
        return f"a {sender} may not send {message} in state {state}: {state} is final"
    allowed = sorted(e.message_name for e in allowed_negotiation_events(sender, state))
    return (
        f"a {sender} may not send {message} in state {state} "
        f"(a {sender} may send here: {', '.join(allowed)})"
    )


__all__ = [
    "NEGOTIATION_TRANSITIONS",
    "TERMINAL_STATES",
    "NegotiationEvent",
    "NegotiationState",
    "Role",
    "allowed_negotiation_events",
    "is_terminal",
    "negotiation_event_of",
    "next_negotiation_state",
]
