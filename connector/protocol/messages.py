"""Every DSP 2025-1 message, one import away.

    from connector.protocol.messages import ContractRequestMessage, parse_message

    msg = parse_message(body, ContractRequestMessage)   # MessageError with a code if invalid
    body = msg.to_json()                                # the exact 2025-1 compact form

Models are frozen, keyword-only dataclasses with snake_case attributes; the modules behind
this one are `base` (envelope, parsing, error codes), `negotiation_messages`,
`transfer_messages`, `catalog_messages` and `version`.
"""

from connector.protocol.base import DSP_CONTEXT, Message, parse_message
from connector.protocol.catalog_messages import (
    CatalogError,
    CatalogRequestMessage,
    DatasetRequestMessage,
)
from connector.protocol.negotiation_messages import (
    ContractAgreementMessage,
    ContractAgreementVerificationMessage,
    ContractNegotiation,
    ContractNegotiationError,
    ContractNegotiationEventMessage,
    ContractNegotiationTerminationMessage,
    ContractOfferMessage,
    ContractRequestMessage,
    NegotiationEventType,
    NegotiationMessage,
)
from connector.protocol.transfer_messages import (
    DataAddress,
    EndpointProperty,
    TransferCompletionMessage,
    TransferError,
    TransferMessage,
    TransferProcess,
    TransferRequestMessage,
    TransferStartMessage,
    TransferSuspensionMessage,
    TransferTerminationMessage,
)
from connector.protocol.version import (
    DSP_VERSION,
    ProtocolVersion,
    VersionAuth,
    find_version,
    parse_version_response,
    version_document,
    version_response,
)

MESSAGE_TYPES: tuple[type[Message], ...] = (
    CatalogRequestMessage,
    DatasetRequestMessage,
    CatalogError,
    ContractRequestMessage,
    ContractOfferMessage,
    ContractAgreementMessage,
    ContractAgreementVerificationMessage,
    ContractNegotiationEventMessage,
    ContractNegotiationTerminationMessage,
    ContractNegotiation,
    ContractNegotiationError,
    TransferRequestMessage,
    TransferStartMessage,
    TransferSuspensionMessage,
    TransferCompletionMessage,
    TransferTerminationMessage,
    TransferProcess,
    TransferError,
)
"""Every message model, in the order the spec introduces them."""

__all__ = [
    "DSP_CONTEXT",
    "DSP_VERSION",
    "MESSAGE_TYPES",
    "CatalogError",
    "CatalogRequestMessage",
    "ContractAgreementMessage",
    "ContractAgreementVerificationMessage",
    "ContractNegotiation",
    "ContractNegotiationError",
    "ContractNegotiationEventMessage",
    "ContractNegotiationTerminationMessage",
    "ContractOfferMessage",
    "ContractRequestMessage",
    "DataAddress",
    "DatasetRequestMessage",
    "EndpointProperty",
    "Message",
    "NegotiationEventType",
    "NegotiationMessage",
    "ProtocolVersion",
    "TransferCompletionMessage",
    "TransferError",
    "TransferMessage",
    "TransferProcess",
    "TransferRequestMessage",
    "TransferStartMessage",
    "TransferSuspensionMessage",
    "TransferTerminationMessage",
    "VersionAuth",
    "find_version",
    "parse_message",
    "parse_version_response",
    "version_document",
    "version_response",
]
