"""Contract Negotiation messages (DSP 2025-1 section 5.4), including the ACK and error objects.

Offers and agreements are `policies.odrl.Policy` values; an offer inside a message always has a
`target` (the dataset), an agreement always has target, assigner and assignee.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from connector.errors import MessageError
from connector.protocol.base import (
    PIDS,
    CodeAndReasonMessage,
    Message,
    PidPairMessage,
    Prop,
    check_callback,
    enum,
    exactly_one,
    optional_text,
    policy,
    text,
)
from connector.protocol.states import NegotiationState
from policies.odrl import Policy


class NegotiationEventType(StrEnum):
    """`eventType` of a ContractNegotiationEventMessage."""

    ACCEPTED = "ACCEPTED"
    FINALIZED = "FINALIZED"


def _check_offer(offer: Policy, where: str) -> None:
    if offer.kind != "Offer":
        raise MessageError(
            f"{where}: 'offer' must be an Offer, not {offer.kind}", code="invalid_policy"
        )
    if not offer.target:
        raise MessageError(
            f"{where}: the offer must name its target dataset", code="invalid_policy"
        )


def _check_initial_or_counter(
    message: ContractRequestMessage | ContractOfferMessage, **peer_pid: str | None
) -> None:
    """The first message of a negotiation names where to answer; a counter-message names the
    peer's process instead. Either way it carries an offer for a dataset."""
    exactly_one(message.TYPE, callbackAddress=message.callback_address, **peer_pid)
    if message.callback_address is not None:
        check_callback(message.callback_address, message.TYPE)
    _check_offer(message.offer, message.TYPE)


@dataclass(frozen=True, kw_only=True)
class ContractRequestMessage(Message):
    """Consumer -> provider. Initial (with `callback_address`) or counter-offer (`provider_pid`)."""

    TYPE: ClassVar[str] = "ContractRequestMessage"
    WIRE: ClassVar[tuple[Prop, ...]] = (
        optional_text("providerPid"),
        text("consumerPid"),
        policy("offer", "Offer"),
        optional_text("callbackAddress"),
    )
    consumer_pid: str
    offer: Policy
    provider_pid: str | None = None
    callback_address: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_initial_or_counter(self, providerPid=self.provider_pid)

    @property
    def is_initial(self) -> bool:
        return self.provider_pid is None


@dataclass(frozen=True, kw_only=True)
class ContractOfferMessage(Message):
    """Provider -> consumer. Initial (with `callback_address`) or counter-offer (`consumer_pid`)."""

    TYPE: ClassVar[str] = "ContractOfferMessage"
    WIRE: ClassVar[tuple[Prop, ...]] = (
        text("providerPid"),
        optional_text("consumerPid"),
        policy("offer", "Offer"),
        optional_text("callbackAddress"),
    )
    provider_pid: str
    offer: Policy
    consumer_pid: str | None = None
    callback_address: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_initial_or_counter(self, consumerPid=self.consumer_pid)

    @property
    def is_initial(self) -> bool:
        return self.consumer_pid is None


@dataclass(frozen=True, kw_only=True)
class ContractAgreementMessage(Message):
    TYPE: ClassVar[str] = "ContractAgreementMessage"
    WIRE: ClassVar[tuple[Prop, ...]] = (*PIDS, policy("agreement", "Agreement"))
    provider_pid: str
    consumer_pid: str
    agreement: Policy

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.agreement.kind != "Agreement":
            raise MessageError(
                f"{self.TYPE}: 'agreement' must be an Agreement, not {self.agreement.kind}",
                code="invalid_policy",
            )


@dataclass(frozen=True, kw_only=True)
class ContractAgreementVerificationMessage(PidPairMessage):
    TYPE: ClassVar[str] = "ContractAgreementVerificationMessage"


@dataclass(frozen=True, kw_only=True)
class ContractNegotiationEventMessage(Message):
    TYPE: ClassVar[str] = "ContractNegotiationEventMessage"
    WIRE: ClassVar[tuple[Prop, ...]] = (*PIDS, enum("eventType", NegotiationEventType))
    provider_pid: str
    consumer_pid: str
    event_type: NegotiationEventType


@dataclass(frozen=True, kw_only=True)
class ContractNegotiationTerminationMessage(CodeAndReasonMessage):
    TYPE: ClassVar[str] = "ContractNegotiationTerminationMessage"


@dataclass(frozen=True, kw_only=True)
class ContractNegotiationError(CodeAndReasonMessage):
    TYPE: ClassVar[str] = "ContractNegotiationError"


@dataclass(frozen=True, kw_only=True)
class ContractNegotiation(Message):
    """The ACK: where a negotiation stands."""

    TYPE: ClassVar[str] = "ContractNegotiation"
    WIRE: ClassVar[tuple[Prop, ...]] = (*PIDS, enum("state", NegotiationState))
    provider_pid: str
    consumer_pid: str
    state: NegotiationState


NegotiationMessage = (
    ContractRequestMessage
    | ContractOfferMessage
    | ContractAgreementMessage
    | ContractAgreementVerificationMessage
    | ContractNegotiationEventMessage
    | ContractNegotiationTerminationMessage
)
"""The messages that move a negotiation (ACK and error objects do not)."""
