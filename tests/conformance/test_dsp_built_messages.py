"""Every message type, built by our own code (not parsed), validates against its schema."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from catalog.dsp import catalog_to_json, dataset_to_json
from catalog.model import Catalog, DataService, Dataset, Distribution
from connector.protocol.messages import (
    MESSAGE_TYPES,
    CatalogError,
    CatalogRequestMessage,
    ContractAgreementMessage,
    ContractAgreementVerificationMessage,
    ContractNegotiation,
    ContractNegotiationError,
    ContractNegotiationEventMessage,
    ContractNegotiationTerminationMessage,
    ContractOfferMessage,
    ContractRequestMessage,
    DataAddress,
    DatasetRequestMessage,
    EndpointProperty,
    Message,
    NegotiationEventType,
    TransferCompletionMessage,
    TransferError,
    TransferProcess,
    TransferRequestMessage,
    TransferStartMessage,
    TransferSuspensionMessage,
    TransferTerminationMessage,
    VersionAuth,
    parse_message,
    version_response,
)
from connector.protocol.negotiation import NegotiationState
from connector.protocol.transfer import TransferState
from policies.odrl import Constraint, LogicalConstraint, Operator, Policy, Rule

Validate = Callable[[Any, str], None]
PIDS: dict[str, Any] = {"provider_pid": "urn:uuid:p-1", "consumer_pid": "urn:uuid:c-1"}
NOW = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)

OFFER = Policy(
    kind="Offer",
    uid="urn:uuid:offer-1",
    target="urn:uuid:dataset-1",
    permissions=(
        Rule(
            "use",
            constraints=(
                LogicalConstraint(
                    "or",  # type: ignore[arg-type]
                    (
                        Constraint("role", Operator.EQ, "municipality"),
                        Constraint("memberships", Operator.HAS_PART, ("basin", "flood-council")),
                    ),
                ),
                Constraint("dateTime", Operator.LT, "2027-01-01T00:00:00Z"),
            ),
            duties=(Rule("inform"),),
        ),
    ),
    prohibitions=(Rule("distribute"),),
    obligations=(Rule("delete", (Constraint("dateTime", Operator.GTEQ, "2027-01-01T00:00:00Z"),)),),
    profile=("https://tsunagu.example/profile",),
)
AGREEMENT = OFFER.to_agreement(
    uid="urn:uuid:agreement-1",
    assigner="did:web:a.example",
    assignee="did:web:c.example",
    timestamp=NOW,
)
ADDRESS = DataAddress(
    endpoint_type="https://w3id.org/idsa/v4.1/HTTP",
    endpoint="https://a.example/data/1",
    endpoint_properties=(
        EndpointProperty("authorization", "token"),
        EndpointProperty("authType", "bearer"),
    ),
)

BUILT: dict[type[Message], list[Message]] = {
    CatalogRequestMessage: [CatalogRequestMessage(), CatalogRequestMessage(filter=[{"q": "x"}])],
    DatasetRequestMessage: [DatasetRequestMessage(dataset="urn:uuid:dataset-1")],
    CatalogError: [CatalogError(), CatalogError(code="not_found", reason=["no such catalogue"])],
    ContractRequestMessage: [
        ContractRequestMessage(
            consumer_pid="urn:uuid:c-1", offer=OFFER, callback_address="https://c.example/cb"
        ),
        ContractRequestMessage(**PIDS, offer=OFFER),
    ],
    ContractOfferMessage: [
        ContractOfferMessage(
            provider_pid="urn:uuid:p-1", offer=OFFER, callback_address="http://a.example/cb/"
        ),
        ContractOfferMessage(**PIDS, offer=OFFER),
    ],
    ContractAgreementMessage: [ContractAgreementMessage(**PIDS, agreement=AGREEMENT)],
    ContractAgreementVerificationMessage: [ContractAgreementVerificationMessage(**PIDS)],
    ContractNegotiationEventMessage: [
        ContractNegotiationEventMessage(**PIDS, event_type=e) for e in NegotiationEventType
    ],
    ContractNegotiationTerminationMessage: [
        ContractNegotiationTerminationMessage(**PIDS),
        ContractNegotiationTerminationMessage(
            **PIDS, code="policy_denied", reason=["no", {"why": 1}]
        ),
    ],
    ContractNegotiation: [ContractNegotiation(**PIDS, state=s) for s in NegotiationState],
    ContractNegotiationError: [
        ContractNegotiationError(**PIDS, code="invalid_transition", reason="x")
    ],
    TransferRequestMessage: [
        TransferRequestMessage(
            consumer_pid="urn:uuid:c-1",
            agreement_id="urn:uuid:agreement-1",
            format="HttpData-PUSH",
            callback_address="https://c.example/cb",
            data_address=ADDRESS,
        ),  # fmt: skip
        TransferRequestMessage(
            consumer_pid="urn:uuid:c-1",
            agreement_id="urn:uuid:agreement-1",
            format="HttpData-PULL",
            callback_address="https://c.example/cb",
        ),  # fmt: skip
    ],
    TransferStartMessage: [
        TransferStartMessage(**PIDS, data_address=ADDRESS),
        TransferStartMessage(**PIDS, data_address=DataAddress(endpoint_type="HttpData")),
        TransferStartMessage(**PIDS),
    ],
    TransferSuspensionMessage: [
        TransferSuspensionMessage(**PIDS, code="maintenance", reason=["later"])
    ],
    TransferCompletionMessage: [TransferCompletionMessage(**PIDS)],
    TransferTerminationMessage: [
        TransferTerminationMessage(**PIDS),
        TransferTerminationMessage(**PIDS, code="x"),
    ],
    TransferProcess: [TransferProcess(**PIDS, state=s) for s in TransferState],
    TransferError: [TransferError(**PIDS, reason=["Internal error"])],
}

SCHEMAS = {
    "CatalogRequestMessage": "catalog/catalog-request-message-schema.json",
    "DatasetRequestMessage": "catalog/dataset-request-message-schema.json",
    "CatalogError": "catalog/catalog-error-schema.json",
    "ContractRequestMessage": "negotiation/contract-request-message-schema.json",
    "ContractOfferMessage": "negotiation/contract-offer-message-schema.json",
    "ContractAgreementMessage": "negotiation/contract-agreement-message-schema.json",
    "ContractAgreementVerificationMessage": "negotiation/contract-agreement-verification-message-schema.json",
    "ContractNegotiationEventMessage": "negotiation/contract-negotiation-event-message-schema.json",
    "ContractNegotiationTerminationMessage": "negotiation/contract-negotiation-termination-message-schema.json",
    "ContractNegotiation": "negotiation/contract-negotiation-schema.json",
    "ContractNegotiationError": "negotiation/contract-negotiation-error-schema.json",
    "TransferRequestMessage": "transfer/transfer-request-message-schema.json",
    "TransferStartMessage": "transfer/transfer-start-message-schema.json",
    "TransferSuspensionMessage": "transfer/transfer-suspension-message-schema.json",
    "TransferCompletionMessage": "transfer/transfer-completion-message-schema.json",
    "TransferTerminationMessage": "transfer/transfer-termination-message-schema.json",
    "TransferProcess": "transfer/transfer-process-schema.json",
    "TransferError": "transfer/transfer-error-schema.json",
}


def test_every_message_type_is_built_here() -> None:
    assert set(BUILT) == set(MESSAGE_TYPES)
    assert {m.TYPE for m in MESSAGE_TYPES} == set(SCHEMAS)
    assert len(MESSAGE_TYPES) == 18


CASES = [(kind, i) for kind, messages in BUILT.items() for i in range(len(messages))]


@pytest.mark.parametrize(("kind", "index"), CASES, ids=lambda v: getattr(v, "TYPE", str(v)))
def test_built_message_validates_and_reads_back(
    kind: type[Message], index: int, validate: Validate
) -> None:
    message = BUILT[kind][index]
    body = message.to_json()
    assert body["@context"] == ["https://w3id.org/dspace/2025/1/context.jsonld"]
    assert body["@type"] == kind.TYPE == kind.__name__
    assert None not in body.values()
    validate(body, SCHEMAS[kind.TYPE])
    assert parse_message(body, kind) == message


def test_built_catalogue_and_dataset_validate(validate: Validate) -> None:
    service = DataService(id="did:web:a.example#dsp", endpoint_url="https://a.example/dsp/2025-1")
    dataset = Dataset(
        id="urn:uuid:dataset-1",
        title="河川水位",
        description="Water level at the upstream gauge, every 10 minutes",
        keywords=("river", "water level"),
        themes=("https://tsunagu.example/theme/disaster",),
        offers=(OFFER.with_(target=None),),
        distributions=(Distribution(format="HttpData-PULL", access_service=service.id),),
    )
    catalog = Catalog(id="did:web:a.example#catalog", participant_id="did:web:a.example",
                      datasets=(dataset,), services=(service,))  # fmt: skip
    validate(catalog_to_json(catalog), "catalog/catalog-schema.json")
    empty = Catalog(
        id="did:web:a.example#catalog", participant_id="did:web:a.example", services=(service,)
    )
    validate(catalog_to_json(empty), "catalog/catalog-schema.json")
    validate(dataset_to_json(dataset, root=True), "catalog/dataset-schema.json")
    inline = Distribution(format="HttpData-PULL", access_service=service.id, service=service)
    standalone = dataset_to_json(
        Dataset(**{**dataset.__dict__, "distributions": (inline,)}), root=True
    )
    validate(standalone, "catalog/dataset-schema.json")


def test_built_version_document_validates(validate: Validate) -> None:
    plain = version_response("/dsp/2025-1")
    assert plain == {
        "protocolVersions": [{"version": "2025-1", "path": "/dsp/2025-1", "binding": "HTTPS"}]
    }
    validate(plain, "common/protocol-version-schema.json")
    full = version_response(
        "/dsp/2025-1", service_id="did:web:a.example", identifier_type="did:web",
        auth=VersionAuth(protocol="DCP", version="1.0", profile=("vc11-sl2021/jwt",)),
    )  # fmt: skip
    validate(full, "common/protocol-version-schema.json")
