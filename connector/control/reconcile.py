"""Reconciling with a peer that refused a message we may have delivered before.

A sender that crashed between delivering a message and recording the delivery sends it again
once its lease lapses. A peer that recognises the duplicate acknowledges it (`DuplicateMessage`);
one that does not (another implementation, or a peer that moved on since) answers 400. That
400 alone does not say whether the peer never took the message or took it long ago, so before
giving up we ask the peer where the process stands (the DSP GET of the process) and:

* adopt its state when it is the one our message would have produced: the peer has the message,
  we only missed its acknowledgement, and the process goes on as if the 2xx had arrived;
* otherwise the refusal stands, and the runner terminates with the peer's answer and its state.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from connector.control.dispatcher import Dispatcher, PeerRejected
from connector.control.negotiation_records import MACHINE as NEGOTIATION
from connector.control.process import Machine
from connector.control.transfers import MACHINE as TRANSFER
from connector.errors import InvalidTransition, MessageError
from connector.protocol.base import parse_message
from connector.protocol.messages import ContractNegotiation, TransferProcess
from connector.protocol.roles import Role
from connector.store.tables import NegotiationRow, TransferRow

log = logging.getLogger("tsunagu.reconcile")

_KINDS: dict[type[Any], tuple[Machine, str, Any]] = {
    NegotiationRow: (NEGOTIATION, "negotiations", ContractNegotiation),
    TransferRow: (TRANSFER, "transfers", TransferProcess),
}


@dataclass(frozen=True)
class Outcome:
    """What the peer told us: `adopt` when its state is the one our message produces."""

    adopt: bool
    peer_state: str | None
    expected: str | None

    def reason(self, rejection: str) -> str:
        if self.peer_state is None:
            return rejection
        return (
            f"{rejection} (the peer reports {self.peer_state}; "
            f"our message would have made it {self.expected})"
        )


async def ask_peer(dispatcher: Dispatcher, kind: type[Any], row: Any, pending: str) -> Outcome:
    """Ask the peer for its state of `row`'s process and compare it with what `pending`
    would have produced. A peer that does not know the process (404) or answers nonsense
    leaves the refusal standing; a peer that cannot be reached raises (the runner retries)."""
    machine, collection, model = _KINDS[kind]
    try:
        expected: str | None = machine.check(row, Role(row.role), pending)
    except InvalidTransition:
        expected = None  # our message is not even legal here any more: nothing to adopt
    if row.peer_pid is None:
        return Outcome(False, None, expected)
    url = f"{row.counterparty_address.rstrip('/')}/{collection}/{row.peer_pid}"
    try:
        body = await dispatcher.get_json(url, audience=row.counterparty_did)
        answer = parse_message(body, model)
    except (PeerRejected, MessageError) as exc:
        log.info("%s %s: the peer's state is not available: %s", collection, row.id, exc)
        return Outcome(False, None, expected)
    ours, theirs = (
        (answer.consumer_pid, answer.provider_pid)
        if row.role == Role.CONSUMER
        else (answer.provider_pid, answer.consumer_pid)
    )
    if ours != row.id or theirs != row.peer_pid:
        return Outcome(False, None, expected)  # not the process we asked about
    peer_state = str(answer.state)
    return Outcome(expected is not None and peer_state == expected, peer_state, expected)
