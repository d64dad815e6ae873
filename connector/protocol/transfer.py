"""The transfer process state machine (DSP 2025-1 section 6.2).

Theory of operation
-------------------
As for negotiations (see `negotiation.py`): one table, `TRANSFER_TRANSITIONS`, maps (sender
role, current state, event) to the next state, and one function looks it up. Both sides use the
same table: sender = the peer's role for an inbound message, our own role once the peer has
acknowledged an outbound one. `state=None` means "no process yet".

The rules in the table: only the consumer opens (TransferRequestMessage); only the provider
starts a requested transfer; a suspended transfer is resumed by a start message from either
side; completion and suspension only from STARTED; termination from any non-terminal state by
either side; nothing leaves COMPLETED or TERMINATED. A repeated start while STARTED is not in
the table: idempotent replays are the control plane's business, not the state machine's.

This module does no I/O and keeps no state.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from connector.errors import InvalidTransition
from connector.protocol.roles import Role
from connector.protocol.states import TransferState
from connector.protocol.transfer_messages import (
    TransferCompletionMessage,
    TransferMessage,
    TransferRequestMessage,
    TransferStartMessage,
    TransferSuspensionMessage,
    TransferTerminationMessage,
)


class TransferEvent(StrEnum):
    """A transfer message, as the state machine sees it (stable values: they are stored)."""

    REQUEST = "REQUEST"
    START = "START"
    SUSPENSION = "SUSPENSION"
    COMPLETION = "COMPLETION"
    TERMINATION = "TERMINATION"

    @property
    def message_name(self) -> str:
        return f"Transfer{self.value.capitalize()}Message"


_P, _C = Role.PROVIDER, Role.CONSUMER
_S, _E = TransferState, TransferEvent
TERMINAL_STATES = frozenset({_S.COMPLETED, _S.TERMINATED})

Key = tuple[Role, TransferState | None, TransferEvent]

TRANSFER_TRANSITIONS: Mapping[Key, TransferState] = MappingProxyType(
    {
        (_C, None, _E.REQUEST): _S.REQUESTED,
        (_P, _S.REQUESTED, _E.START): _S.STARTED,  # provider only
        **{(role, _S.STARTED, _E.COMPLETION): _S.COMPLETED for role in Role},
        **{(role, _S.STARTED, _E.SUSPENSION): _S.SUSPENDED for role in Role},
        **{(role, _S.SUSPENDED, _E.START): _S.STARTED for role in Role},  # resume
        **{
            (role, state, _E.TERMINATION): _S.TERMINATED
            for role in Role
            for state in TransferState
            if state not in TERMINAL_STATES
        },
    }
)


def next_transfer_state(
    sender: Role, state: TransferState | None, event: TransferEvent
) -> TransferState:
    """The state after `sender` sends `event` in `state`; `InvalidTransition` if not allowed."""
    try:
        return TRANSFER_TRANSITIONS[(sender, state, event)]
    except KeyError:
        raise InvalidTransition(_refusal(sender, state, event)) from None


def allowed_transfer_events(sender: Role, state: TransferState | None) -> frozenset[TransferEvent]:
    return frozenset(e for (r, s, e) in TRANSFER_TRANSITIONS if r == sender and s == state)


def is_terminal(state: TransferState | None) -> bool:
    return state in TERMINAL_STATES


def transfer_event_of(message: TransferMessage) -> TransferEvent:
    """The event a parsed transfer message stands for."""
    event = _EVENT_OF_TYPE.get(type(message))
    if event is None:
        raise TypeError(f"{type(message).__name__} does not move a transfer")
    return event


_EVENT_OF_TYPE: Mapping[type, TransferEvent] = {
    TransferRequestMessage: _E.REQUEST,
    TransferStartMessage: _E.START,
    TransferSuspensionMessage: _E.SUSPENSION,
    TransferCompletionMessage: _E.COMPLETION,
    TransferTerminationMessage: _E.TERMINATION,
}


def _refusal(sender: Role, state: TransferState | None, event: TransferEvent) -> str:
    message = TransferEvent(event).message_name
    if state is None:
        return (
            f"a {sender} may not send {message} when no transfer exists yet "
            "(only a consumer's TransferRequestMessage opens one)"
        )
    if state in TERMINAL_STATES:
        return f"a {sender} may not send {message} in state {state}: {state} is final"
    allowed = sorted(e.message_name for e in allowed_transfer_events(sender, state))
    return (
        f"a {sender} may not send {message} in state {state} "
        f"(a {sender} may send here: {', '.join(allowed) or 'nothing'})"
    )


__all__ = [
    "TERMINAL_STATES",
    "TRANSFER_TRANSITIONS",
    "Role",
    "TransferEvent",
    "TransferState",
    "allowed_transfer_events",
    "is_terminal",
    "next_transfer_state",
    "transfer_event_of",
]
