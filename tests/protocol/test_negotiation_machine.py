"""Every (sender, state, message) combination of the negotiation machine, legal and illegal.

The expected table is written out here from the spec's transition list (DSP 2025-1 section
5.1, as summarised in shared/specs/dsp-2025-1.md), not imported from the implementation.
"""

from __future__ import annotations

import itertools

import pytest

from connector.errors import InvalidTransition
from connector.protocol.messages import (
    ContractAgreementMessage,
    ContractAgreementVerificationMessage,
    ContractNegotiation,
    ContractNegotiationEventMessage,
    ContractNegotiationTerminationMessage,
    ContractOfferMessage,
    ContractRequestMessage,
)
from connector.protocol.negotiation import (
    NegotiationEvent,
    NegotiationState,
    allowed_negotiation_events,
    is_terminal,
    negotiation_event_of,
    next_negotiation_state,
)
from connector.protocol.roles import Role
from policies.odrl import Policy, Rule

# The spec's list, one line per arrow: (from, message, sender) -> to.
SPEC = """
-          CONTRACT_REQUEST consumer  REQUESTED
-          CONTRACT_OFFER   provider  OFFERED
REQUESTED  CONTRACT_OFFER   provider  OFFERED
REQUESTED  AGREEMENT        provider  AGREED
OFFERED    CONTRACT_REQUEST consumer  REQUESTED
OFFERED    ACCEPTED         consumer  ACCEPTED
ACCEPTED   AGREEMENT        provider  AGREED
AGREED     VERIFICATION     consumer  VERIFIED
VERIFIED   FINALIZED        provider  FINALIZED
"""
# Termination: accepted from either party in any state that is not terminal.
TERMINABLE = ["REQUESTED", "OFFERED", "ACCEPTED", "AGREED", "VERIFIED"]


def expected_table() -> dict[tuple[str, str | None, str], str]:
    table: dict[tuple[str, str | None, str], str] = {}
    for line in SPEC.strip().splitlines():
        source, message, sender, target = line.split()
        table[(sender, None if source == "-" else source, message)] = target
    for sender in ("provider", "consumer"):
        for source in TERMINABLE:
            table[(sender, source, "TERMINATION")] = "TERMINATED"
    return table


EXPECTED = expected_table()
STATES: list[NegotiationState | None] = [None, *NegotiationState]
CASES = list(itertools.product(Role, STATES, NegotiationEvent))


def test_the_enumerations_name_what_the_spec_names() -> None:
    assert [s.value for s in NegotiationState] == [
        "REQUESTED", "OFFERED", "ACCEPTED", "AGREED", "VERIFIED", "FINALIZED", "TERMINATED",
    ]  # fmt: skip
    assert {e.value for e in NegotiationEvent} == {
        "CONTRACT_REQUEST", "CONTRACT_OFFER", "ACCEPTED", "AGREEMENT", "VERIFICATION",
        "FINALIZED", "TERMINATION",
    }  # fmt: skip
    assert len(CASES) == 2 * 8 * 7


@pytest.mark.parametrize(("sender", "state", "event"), CASES, ids=lambda v: str(v))
def test_every_combination(
    sender: Role, state: NegotiationState | None, event: NegotiationEvent
) -> None:
    key = (sender.value, None if state is None else state.value, event.value)
    if key in EXPECTED:
        assert next_negotiation_state(sender, state, event) == EXPECTED[key]
    else:
        with pytest.raises(InvalidTransition) as caught:
            next_negotiation_state(sender, state, event)
        text = str(caught.value)
        assert sender.value in text
        assert event.message_name in text
        assert (state.value if state else "no negotiation") in text
        assert caught.value.code == "invalid_transition"
        assert caught.value.status == 400


def test_the_rules_stated_in_words() -> None:
    # A consumer must not send FINALIZED, a provider must not send ACCEPTED - in any state.
    for state in STATES:
        with pytest.raises(InvalidTransition):
            next_negotiation_state(Role.CONSUMER, state, NegotiationEvent.FINALIZED)
        with pytest.raises(InvalidTransition):
            next_negotiation_state(Role.PROVIDER, state, NegotiationEvent.ACCEPTED)
    # Nothing leaves a terminal state.
    for state, event, role in itertools.product(
        (NegotiationState.FINALIZED, NegotiationState.TERMINATED), NegotiationEvent, Role
    ):
        with pytest.raises(InvalidTransition, match="final"):
            next_negotiation_state(role, state, event)


def test_plain_strings_work_like_members() -> None:
    # The control plane stores states and events as their string values.
    assert next_negotiation_state(Role.CONSUMER, "AGREED", "VERIFICATION") == "VERIFIED"  # type: ignore[arg-type]


def test_allowed_events_and_terminal_states() -> None:
    assert allowed_negotiation_events(Role.CONSUMER, NegotiationState.OFFERED) == {
        NegotiationEvent.CONTRACT_REQUEST,
        NegotiationEvent.ACCEPTED,
        NegotiationEvent.TERMINATION,
    }
    assert allowed_negotiation_events(Role.PROVIDER, None) == {NegotiationEvent.CONTRACT_OFFER}
    assert allowed_negotiation_events(Role.PROVIDER, NegotiationState.FINALIZED) == set()
    assert [s for s in STATES if is_terminal(s)] == ["FINALIZED", "TERMINATED"]


OFFER = Policy(kind="Offer", uid="urn:offer:1", target="urn:ds:1", permissions=(Rule("use"),))
AGREEMENT = OFFER.with_(kind="Agreement", assigner="did:web:p", assignee="did:web:c")
PIDS = {"provider_pid": "urn:p", "consumer_pid": "urn:c"}


@pytest.mark.parametrize(
    ("message", "event"),
    [
        (
            ContractRequestMessage(
                consumer_pid="urn:c", offer=OFFER, callback_address="https://c/cb"
            ),
            "CONTRACT_REQUEST",
        ),
        (
            ContractOfferMessage(provider_pid="urn:p", offer=OFFER, consumer_pid="urn:c"),
            "CONTRACT_OFFER",
        ),
        (ContractNegotiationEventMessage(**PIDS, event_type="ACCEPTED"), "ACCEPTED"),  # type: ignore[arg-type]
        (ContractNegotiationEventMessage(**PIDS, event_type="FINALIZED"), "FINALIZED"),  # type: ignore[arg-type]
        (ContractAgreementMessage(**PIDS, agreement=AGREEMENT), "AGREEMENT"),
        (ContractAgreementVerificationMessage(**PIDS), "VERIFICATION"),
        (ContractNegotiationTerminationMessage(**PIDS, code="x"), "TERMINATION"),
    ],
    ids=lambda v: v if isinstance(v, str) else type(v).__name__,
)
def test_event_of_each_message(message: object, event: str) -> None:
    assert negotiation_event_of(message) == event  # type: ignore[arg-type]


def test_an_ack_is_not_an_event() -> None:
    with pytest.raises(TypeError, match="ContractNegotiation does not move"):
        negotiation_event_of(ContractNegotiation(**PIDS, state="AGREED"))  # type: ignore[arg-type]
