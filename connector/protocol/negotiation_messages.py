"""Contract Negotiation messages (DSP 2025-1 section 5.4), including the ACK and error objects.

Offers and agreements are `policies.odrl.Policy` values; an offer inside a message always has a
`target` (the dataset), an agreement always has target, assigner and assignee.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Self

from connector.errors import MessageError
from connector.protocol.base import (
    CodeAndReasonMessage,
    Fields,
    Message,
    PidPairMessage,
    check_callback,
    coerce_enum,
    exactly_one,
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


@dataclass(frozen=True, kw_only=True)
class ContractRequestMessage(Message):
    """Consumer -> provider. Initial (with `callback_address`) or counter-offer (`provider_pid`)."""

    TYPE: ClassVar[str] = "ContractRequestMessage"
    consumer_pid: str
    offer: Policy
    provider_pid: str | None = None
    callback_address: str | None = None

    def __post_init__(self) -> None:
        exactly_one(self.TYPE, callbackAddress=self.callback_address, providerPid=self.provider_pid)
        if self.callback_address is not None:
            check_callback(self.callback_address, self.TYPE)
        _check_offer(self.offer, self.TYPE)

    @property
    def is_initial(self) -> bool:
        return self.provider_pid is None

    def _properties(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.provider_pid is not None:
            out["providerPid"] = self.provider_pid
        out["consumerPid"] = self.consumer_pid
        out["offer"] = self.offer.to_json()
        if self.callback_address is not None:
            out["callbackAddress"] = self.callback_address
        return out

    @classmethod
    def _read(cls, fields: Fields) -> Self:
        return cls(
            consumer_pid=fields.string("consumerPid"),
            provider_pid=fields.optional_string("providerPid"),
            callback_address=fields.optional_string("callbackAddress"),
            offer=fields.policy("offer", "Offer"),
        )


@dataclass(frozen=True, kw_only=True)
class ContractOfferMessage(Message):
    """Provider -> consumer. Initial (with `callback_address`) or counter-offer (`consumer_pid`)."""

    TYPE: ClassVar[str] = "ContractOfferMessage"
    provider_pid: str
    offer: Policy
    consumer_pid: str | None = None
    callback_address: str | None = None

    def __post_init__(self) -> None:
        exactly_one(self.TYPE, callbackAddress=self.callback_address, consumerPid=self.consumer_pid)
        if self.callback_address is not None:
            check_callback(self.callback_address, self.TYPE)
        _check_offer(self.offer, self.TYPE)

    @property
    def is_initial(self) -> bool:
        return self.consumer_pid is None

    def _properties(self) -> dict[str, Any]:
        out: dict[str, Any] = {"providerPid": self.provider_pid}
        if self.consumer_pid is not None:
            out["consumerPid"] = self.consumer_pid
        out["offer"] = self.offer.to_json()
        if self.callback_address is not None:
            out["callbackAddress"] = self.callback_address
        return out

    @classmethod
    def _read(cls, fields: Fields) -> Self:
        return cls(
            provider_pid=fields.string("providerPid"),
            consumer_pid=fields.optional_string("consumerPid"),
            callback_address=fields.optional_string("callbackAddress"),
            offer=fields.policy("offer", "Offer"),
        )


@dataclass(frozen=True, kw_only=True)
class ContractAgreementMessage(Message):
    TYPE: ClassVar[str] = "ContractAgreementMessage"
    provider_pid: str
    consumer_pid: str
    agreement: Policy

    def __post_init__(self) -> None:
        if self.agreement.kind != "Agreement":
            raise MessageError(
                f"{self.TYPE}: 'agreement' must be an Agreement, not {self.agreement.kind}",
                code="invalid_policy",
            )

    def _properties(self) -> dict[str, Any]:
        return {
            "providerPid": self.provider_pid,
            "consumerPid": self.consumer_pid,
            "agreement": self.agreement.to_json(),
        }

    @classmethod
    def _read(cls, fields: Fields) -> Self:
        return cls(
            provider_pid=fields.string("providerPid"),
            consumer_pid=fields.string("consumerPid"),
            agreement=fields.policy("agreement", "Agreement"),
        )


@dataclass(frozen=True, kw_only=True)
class ContractAgreementVerificationMessage(PidPairMessage):
    TYPE: ClassVar[str] = "ContractAgreementVerificationMessage"


@dataclass(frozen=True, kw_only=True)
class ContractNegotiationEventMessage(Message):
    TYPE: ClassVar[str] = "ContractNegotiationEventMessage"
    provider_pid: str
    consumer_pid: str
    event_type: NegotiationEventType

    def __post_init__(self) -> None:
        event = coerce_enum(self.event_type, NegotiationEventType, self.TYPE, "eventType")
        object.__setattr__(self, "event_type", event)

    def _properties(self) -> dict[str, Any]:
        return {
            "providerPid": self.provider_pid,
            "consumerPid": self.consumer_pid,
            "eventType": self.event_type.value,
        }

    @classmethod
    def _read(cls, fields: Fields) -> Self:
        return cls(
            provider_pid=fields.string("providerPid"),
            consumer_pid=fields.string("consumerPid"),
            event_type=fields.enum("eventType", NegotiationEventType),
        )


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
    provider_pid: str
    consumer_pid: str
    state: NegotiationState

    def __post_init__(self) -> None:
        state = coerce_enum(self.state, NegotiationState, self.TYPE, "state")
        object.__setattr__(self, "state", state)

    def _properties(self) -> dict[str, Any]:
        return {
            "providerPid": self.provider_pid,
            "consumerPid": self.consumer_pid,
            "state": self.state.value,
        }

    @classmethod
    def _read(cls, fields: Fields) -> Self:
        return cls(
            provider_pid=fields.string("providerPid"),
            consumer_pid=fields.string("consumerPid"),
            state=fields.enum("state", NegotiationState),
        )


NegotiationMessage = (
    ContractRequestMessage
    | ContractOfferMessage
    | ContractAgreementMessage
    | ContractAgreementVerificationMessage
    | ContractNegotiationEventMessage
    | ContractNegotiationTerminationMessage
)
"""The messages that move a negotiation (ACK and error objects do not)."""
