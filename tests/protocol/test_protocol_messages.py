"""Message models as the control plane uses them: construction rules, JSON shape, helpers."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from connector.errors import MessageError
from connector.protocol.messages import (
    MESSAGE_TYPES,
    CatalogRequestMessage,
    ContractAgreementMessage,
    ContractNegotiation,
    ContractNegotiationEventMessage,
    ContractNegotiationTerminationMessage,
    ContractOfferMessage,
    ContractRequestMessage,
    DataAddress,
    EndpointProperty,
    NegotiationEventType,
    ProtocolVersion,
    TransferProcess,
    TransferRequestMessage,
    TransferTerminationMessage,
    find_version,
    parse_message,
    parse_version_response,
    version_document,
)
from connector.protocol.negotiation import NegotiationState
from connector.protocol.roles import Role
from connector.protocol.transfer import TransferState
from policies.odrl import Policy, Rule

OFFER = Policy(kind="Offer", uid="urn:offer:1", target="urn:ds:1", permissions=(Rule("use"),))
PIDS: dict[str, Any] = {"provider_pid": "urn:p", "consumer_pid": "urn:c"}
CALLBACK = "https://c.example/callback"


def code_of(build: Any) -> str:
    with pytest.raises(MessageError) as caught:
        build()
    return caught.value.code


def test_class_names_are_the_dsp_types() -> None:
    assert all(m.__name__ == m.TYPE for m in MESSAGE_TYPES)


def test_request_needs_exactly_one_of_callback_and_provider_pid() -> None:
    initial = ContractRequestMessage(consumer_pid="urn:c", offer=OFFER, callback_address=CALLBACK)
    counter = ContractRequestMessage(**PIDS, offer=OFFER)
    assert initial.is_initial and not counter.is_initial
    assert (
        code_of(lambda: ContractRequestMessage(consumer_pid="urn:c", offer=OFFER))
        == "invalid_message"
    )
    both = {**PIDS, "callback_address": CALLBACK}
    assert code_of(lambda: ContractRequestMessage(**both, offer=OFFER)) == "invalid_message"
    assert (
        code_of(lambda: ContractOfferMessage(provider_pid="urn:p", offer=OFFER))
        == "invalid_message"
    )
    assert code_of(lambda: ContractOfferMessage(**both, offer=OFFER)) == "invalid_message"
    assert ContractOfferMessage(
        provider_pid="urn:p", offer=OFFER, callback_address=CALLBACK
    ).is_initial


def test_outbound_callbacks_are_checked_too() -> None:
    assert (
        code_of(
            lambda: ContractRequestMessage(consumer_pid="c", offer=OFFER, callback_address="/cb")
        )
        == "invalid_callback"
    )
    assert code_of(lambda: TransferRequestMessage(consumer_pid="c", agreement_id="a", format="f",
                                                  callback_address="cb")) == "invalid_callback"  # fmt: skip


def test_offers_and_agreements_must_be_what_they_say() -> None:
    agreement = OFFER.to_agreement(
        uid="urn:a", assigner="did:a", assignee="did:c", timestamp=datetime(2026, 1, 1)
    )
    assert (
        code_of(lambda: ContractRequestMessage(**PIDS, offer=OFFER.with_(target=None)))
        == "invalid_policy"
    )
    assert code_of(lambda: ContractRequestMessage(**PIDS, offer=agreement)) == "invalid_policy"
    assert (
        code_of(lambda: ContractOfferMessage(**PIDS, offer=OFFER.with_(target=None)))
        == "invalid_policy"
    )
    assert code_of(lambda: ContractAgreementMessage(**PIDS, agreement=OFFER)) == "invalid_policy"
    assert (
        ContractAgreementMessage(**PIDS, agreement=agreement).to_json()["agreement"]["timestamp"]
        == "2026-01-01T00:00:00"
    )


def test_enumerated_values_accept_their_strings() -> None:
    event = ContractNegotiationEventMessage(**PIDS, event_type="FINALIZED")  # type: ignore[arg-type]
    assert event.event_type is NegotiationEventType.FINALIZED
    assert ContractNegotiation(**PIDS, state="AGREED").state is NegotiationState.AGREED  # type: ignore[arg-type]
    assert TransferProcess(**PIDS, state="SUSPENDED").state is TransferState.SUSPENDED  # type: ignore[arg-type]
    assert (
        code_of(lambda: ContractNegotiationEventMessage(**PIDS, event_type="DONE"))  # type: ignore[arg-type]
        == "invalid_field"
    )
    assert code_of(lambda: TransferProcess(**PIDS, state="OFFERED")) == "invalid_field"  # type: ignore[arg-type]
    assert code_of(lambda: TransferProcess(**PIDS, state=None)) == "invalid_field"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("reason", "stored", "written"),
    [
        (None, None, None),
        ([], None, None),
        (["a", {"b": 1}], ("a", {"b": 1}), ["a", {"b": 1}]),
        ("just text", ("just text",), ["just text"]),
    ],
)
def test_reasons(reason: Any, stored: Any, written: Any) -> None:
    message = ContractNegotiationTerminationMessage(**PIDS, code=None, reason=reason)
    assert message.reason == stored
    body = message.to_json()
    assert body.get("reason") == written
    assert "code" not in body
    assert (
        TransferTerminationMessage(**PIDS, code="c", reason=reason).to_json().get("reason")
        == written
    )


def test_json_shape_is_compact_and_complete() -> None:
    body = ContractRequestMessage(
        consumer_pid="urn:c", offer=OFFER, callback_address=CALLBACK
    ).to_json()
    assert body == {
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "ContractRequestMessage",
        "consumerPid": "urn:c",
        "offer": {
            "@id": "urn:offer:1",
            "@type": "Offer",
            "target": "urn:ds:1",
            "permission": [{"action": "use"}],
        },
        "callbackAddress": CALLBACK,
    }
    assert CatalogRequestMessage().to_json() == {
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "CatalogRequestMessage",
    }


def test_messages_are_values() -> None:
    a = ContractNegotiationEventMessage(**PIDS, event_type=NegotiationEventType.ACCEPTED)
    b = parse_message(a.to_json(), ContractNegotiationEventMessage)
    assert a == b
    with pytest.raises(AttributeError):
        a.consumer_pid = "other"  # type: ignore[misc]


def test_data_address() -> None:
    address = DataAddress(
        endpoint_type="https://w3id.org/idsa/v4.1/HTTP",
        endpoint="https://a.example/data",
        endpoint_properties=[
            EndpointProperty("authorization", "t0k3n"),
            EndpointProperty("authType", "bearer"),
        ],  # type: ignore[arg-type]
    )
    assert address.property("authorization") == "t0k3n"
    assert address.property("missing") is None
    assert DataAddress.from_json(address.to_json()) == address
    assert DataAddress(endpoint_type="x").to_json() == {"@type": "DataAddress", "endpointType": "x"}
    assert DataAddress.from_json({"endpointType": "x"}) == DataAddress(
        endpoint_type="x"
    )  # @type may be left out
    bad_addresses: list[object] = [
        [],
        {"endpoint": "e"},
        {"endpointType": "x", "endpointProperties": ["a=b"]},
    ]
    for bad in bad_addresses:
        with pytest.raises(MessageError):
            DataAddress.from_json(bad)


def test_version_document(shared_dir: Path) -> None:
    example = json.loads((shared_dir / "dsp/common/example/protocol-version.json").read_text())
    versions = parse_version_response(example)
    assert [v.path for v in versions] == [
        "/some/path/2025-1",
        "/some/path/2024-1",
        "/different/path/2025-1",
    ]
    assert versions[1].auth is not None and versions[1].auth.profile == (
        "authorization_code",
        "refresh_token",
    )
    chosen = find_version(versions)
    assert chosen is not None and chosen.path == "/some/path/2025-1"
    assert find_version(versions, "0.8") is None
    assert version_document(*versions) == example
    with pytest.raises(ValueError, match="at least one"):
        version_document()
    bad_documents: list[object] = [
        {},
        {"protocolVersions": []},
        {"protocolVersions": [{"version": "2025-1"}]},
        [],
        {"protocolVersions": ["x"]},
    ]
    for bad in bad_documents:
        with pytest.raises(MessageError):
            parse_version_response(bad)
    assert ProtocolVersion(path="/dsp").to_json() == {
        "version": "2025-1",
        "path": "/dsp",
        "binding": "HTTPS",
    }


def test_roles() -> None:
    assert Role.PROVIDER.other is Role.CONSUMER and Role.CONSUMER.other is Role.PROVIDER
    assert [r.value for r in Role] == ["provider", "consumer"]
