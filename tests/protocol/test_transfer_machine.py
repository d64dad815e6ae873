"""Every (sender, state, message) combination of the transfer machine, legal and illegal.

The expected table is written out here from the spec's transition list (DSP 2025-1 section
6.2), not imported from the implementation.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from connector.errors import InvalidTransition
from connector.protocol.messages import (
    TransferCompletionMessage,
    TransferProcess,
    TransferRequestMessage,
    TransferStartMessage,
    TransferSuspensionMessage,
    TransferTerminationMessage,
)
from connector.protocol.roles import Role
from connector.protocol.transfer import (
    TransferEvent,
    TransferState,
    allowed_transfer_events,
    is_terminal,
    next_transfer_state,
    transfer_event_of,
)

# (from, message, sent by) -> to; "either" expands to both roles.
SPEC = """
-          REQUEST      consumer  REQUESTED
REQUESTED  START        provider  STARTED
REQUESTED  TERMINATION  either    TERMINATED
STARTED    COMPLETION   either    COMPLETED
STARTED    SUSPENSION   either    SUSPENDED
STARTED    TERMINATION  either    TERMINATED
SUSPENDED  START        either    STARTED
SUSPENDED  TERMINATION  either    TERMINATED
"""


def expected_table() -> dict[tuple[str, str | None, str], str]:
    table: dict[tuple[str, str | None, str], str] = {}
    for line in SPEC.strip().splitlines():
        source, message, sender, target = line.split()
        for role in ("provider", "consumer") if sender == "either" else (sender,):
            table[(role, None if source == "-" else source, message)] = target
    return table


EXPECTED = expected_table()
STATES: list[TransferState | None] = [None, *TransferState]
CASES = list(itertools.product(Role, STATES, TransferEvent))


def test_the_enumerations_name_what_the_spec_names() -> None:
    assert [s.value for s in TransferState] == [
        "REQUESTED", "STARTED", "SUSPENDED", "COMPLETED", "TERMINATED",
    ]  # fmt: skip
    assert len(CASES) == 2 * 6 * 5


@pytest.mark.parametrize(("sender", "state", "event"), CASES, ids=lambda v: str(v))
def test_every_combination(sender: Role, state: TransferState | None, event: TransferEvent) -> None:
    key = (sender.value, None if state is None else state.value, event.value)
    if key in EXPECTED:
        assert next_transfer_state(sender, state, event) == EXPECTED[key]
    else:
        with pytest.raises(InvalidTransition) as caught:
            next_transfer_state(sender, state, event)
        text = str(caught.value)
        assert sender.value in text
        assert event.message_name in text
        assert (state.value if state else "no transfer") in text


def test_the_rules_stated_in_words() -> None:
    # Only the provider starts a requested transfer.
    with pytest.raises(InvalidTransition):
        next_transfer_state(Role.CONSUMER, TransferState.REQUESTED, TransferEvent.START)
    # Completion and suspension only from STARTED.
    for state in (TransferState.REQUESTED, TransferState.SUSPENDED):
        for event in (TransferEvent.COMPLETION, TransferEvent.SUSPENSION):
            with pytest.raises(InvalidTransition):
                next_transfer_state(Role.PROVIDER, state, event)
    # Nothing after COMPLETED or TERMINATED.
    for state in (TransferState.COMPLETED, TransferState.TERMINATED):
        assert allowed_transfer_events(Role.PROVIDER, state) == set()
        assert allowed_transfer_events(Role.CONSUMER, state) == set()
        assert is_terminal(state)
    assert not is_terminal(TransferState.SUSPENDED)


def test_message_names() -> None:
    assert [e.message_name for e in TransferEvent] == [
        "TransferRequestMessage",
        "TransferStartMessage",
        "TransferSuspensionMessage",
        "TransferCompletionMessage",
        "TransferTerminationMessage",
    ]


PIDS: dict[str, Any] = {"provider_pid": "urn:p", "consumer_pid": "urn:c"}


@pytest.mark.parametrize(
    ("message", "event"),
    [
        (
            TransferRequestMessage(
                consumer_pid="urn:c",
                agreement_id="urn:a",
                format="HttpData-PULL",
                callback_address="https://c/cb",
            ),
            "REQUEST",
        ),  # fmt: skip
        (TransferStartMessage(**PIDS), "START"),
        (TransferSuspensionMessage(**PIDS), "SUSPENSION"),
        (TransferCompletionMessage(**PIDS), "COMPLETION"),
        (TransferTerminationMessage(**PIDS, reason=["done"]), "TERMINATION"),
    ],
    ids=lambda v: v if isinstance(v, str) else type(v).__name__,
)
def test_event_of_each_message(message: object, event: str) -> None:
    assert transfer_event_of(message) == event  # type: ignore[arg-type]


def test_an_ack_is_not_an_event() -> None:
    with pytest.raises(TypeError, match="TransferProcess does not move"):
        transfer_event_of(TransferProcess(**PIDS, state="STARTED"))  # type: ignore[arg-type]
