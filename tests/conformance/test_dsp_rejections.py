"""Malformed messages are refused with a `MessageError` carrying the expected code, and
nothing else ever escapes the parser."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.errors import MessageError
from connector.protocol.messages import (
    MESSAGE_TYPES,
    ContractNegotiationEventMessage,
    ContractOfferMessage,
    ContractRequestMessage,
    Message,
    TransferRequestMessage,
    parse_message,
)

DSP = Path(__file__).resolve().parents[2].parent / "shared" / "dsp"
MODELS = {m.TYPE: m for m in MESSAGE_TYPES}


def example(name: str) -> dict[str, Any]:
    (path,) = DSP.glob(f"*/example/{name}")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def refused(body: object, model: type[Message]) -> MessageError:
    with pytest.raises(MessageError) as caught:
        parse_message(body, model)
    assert caught.value.status == 400
    return caught.value


# Required properties per message, from the spec's message lists (sections 3, 5.4, 6.5).
REQUIRED = [
    ("contract-request-message.json", ["consumerPid", "offer"]),
    ("contract-offer-message.json", ["providerPid", "offer"]),
    ("contract-agreement-message.json", ["providerPid", "consumerPid", "agreement"]),
    ("contract-agreement-verification-message.json", ["providerPid", "consumerPid"]),
    ("contract-negotiation-event-message.json", ["providerPid", "consumerPid", "eventType"]),
    ("contract-negotiation-termination-message.json", ["providerPid", "consumerPid"]),
    ("contract-negotiation.json", ["providerPid", "consumerPid", "state"]),
    ("contract-negotiation-error.json", ["providerPid", "consumerPid"]),
    ("transfer-request-message.json", ["consumerPid", "agreementId", "format", "callbackAddress"]),
    ("transfer-start-message.json", ["providerPid", "consumerPid"]),
    ("transfer-suspension-message.json", ["providerPid", "consumerPid"]),
    ("transfer-completion-message.json", ["providerPid", "consumerPid"]),
    ("transfer-termination-message.json", ["providerPid", "consumerPid"]),
    ("transfer-process.json", ["providerPid", "consumerPid", "state"]),
    ("transfer-error.json", ["providerPid", "consumerPid"]),
    ("dataset-request-message.json", ["dataset"]),
]
MISSING = [(name, field) for name, fields in REQUIRED for field in ["@context", "@type", *fields]]


@pytest.mark.parametrize(("name", "field"), MISSING)
def test_missing_required_field(name: str, field: str) -> None:
    body = example(name)
    model = MODELS[body["@type"]]
    del body[field]
    error = refused(body, model)
    assert error.code == "missing_field"
    assert repr(field) in str(error)


@pytest.mark.parametrize("model", MESSAGE_TYPES, ids=lambda m: m.TYPE)
def test_wrong_type(model: type[Message]) -> None:
    other = "TransferProcess" if model.TYPE != "TransferProcess" else "ContractNegotiation"
    body = {"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@type": other}
    error = refused(body, model)
    assert error.code == "wrong_type"
    assert model.TYPE in str(error) and other in str(error)


@pytest.mark.parametrize(
    "context",
    [
        "https://w3id.org/dspace/2025/1/context.jsonld",  # a string, not an array
        ["https://w3id.org/dspace/2024/1/context.json"],  # the wrong version
        [{"@vocab": "https://w3id.org/dspace/2025/1/"}],  # an inline context
        [],
    ],
)
def test_invalid_context(context: object) -> None:
    body = example("contract-negotiation-event-message.json")
    body["@context"] = context
    assert refused(body, ContractNegotiationEventMessage).code == "invalid_context"


def test_extra_contexts_are_fine() -> None:
    body = example("contract-negotiation-event-message.json")
    body["@context"].append("https://example.org/profile-context.jsonld")
    assert parse_message(body, ContractNegotiationEventMessage).event_type == "ACCEPTED"


@pytest.mark.parametrize("body", [[], "text", None, 42, True])
def test_body_must_be_an_object(body: object) -> None:
    assert refused(body, ContractRequestMessage).code == "invalid_message"


@pytest.mark.parametrize(
    "address",
    ["ftp://example.com/cb", "/callback", "example.com/callback", "https://", "", "https://ex ample.com/",
     "mailto:ops@example.com", "https://[::1/cb"],
)  # fmt: skip
@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("contract-request-message_initial.json", ContractRequestMessage),
        ("contract-offer-message_initial.json", ContractOfferMessage),
        ("transfer-request-message.json", TransferRequestMessage),
    ],
)
def test_bad_callback(address: str, name: str, model: type[Message]) -> None:
    body = example(name)
    body["callbackAddress"] = address
    error = refused(body, model)
    assert error.code == "invalid_callback"
    assert "callbackAddress" in str(error)


@pytest.mark.parametrize("address", ["http://localhost:8080/cb", "https://c.example/dsp/callback/"])
def test_good_callback(address: str) -> None:
    body = example("contract-request-message_initial.json")
    body["callbackAddress"] = address
    assert parse_message(body, ContractRequestMessage).callback_address == address


@pytest.mark.parametrize(
    ("name", "model", "change"),
    [
        # exactly one of callbackAddress / providerPid
        (
            "contract-request-message.json",
            ContractRequestMessage,
            {"callbackAddress": "https://c/cb"},
        ),
        (
            "contract-request-message_initial.json",
            ContractRequestMessage,
            {"callbackAddress": None},
        ),
        # exactly one of callbackAddress / consumerPid
        ("contract-offer-message.json", ContractOfferMessage, {"callbackAddress": "https://p/cb"}),
        ("contract-offer-message_initial.json", ContractOfferMessage, {"callbackAddress": None}),
    ],
)
def test_exactly_one_rules(name: str, model: type[Message], change: dict[str, Any]) -> None:
    body = example(name)
    for key, value in change.items():
        if value is None:
            del body[key]
        else:
            body[key] = value
    error = refused(body, model)
    assert error.code == "invalid_message"
    assert "exactly one of callbackAddress" in str(error)


@pytest.mark.parametrize(
    ("name", "path", "value", "code"),
    [
        ("contract-request-message.json", ["consumerPid"], 42, "invalid_field"),
        ("contract-request-message.json", ["offer"], "urn:offer", "invalid_field"),
        ("contract-negotiation-event-message.json", ["eventType"], "REJECTED", "invalid_field"),
        (
            "contract-negotiation-event-message.json",
            ["eventType"],
            "dspace:ACCEPTED",
            "invalid_field",
        ),
        ("contract-negotiation.json", ["state"], "REQUESTING", "invalid_field"),
        ("transfer-process.json", ["state"], "OFFERED", "invalid_field"),
        ("transfer-start-message.json", ["dataAddress", "endpointType"], None, "missing_field"),
        (
            "transfer-start-message.json",
            ["dataAddress", "endpointProperties", 0, "value"],
            7,
            "invalid_field",
        ),
        ("transfer-start-message.json", ["dataAddress", "@type"], "Address", "invalid_field"),
        ("contract-negotiation-termination-message.json", ["code"], 99, "invalid_field"),
        ("contract-request-message.json", ["offer", "@type"], "Agreement", "invalid_policy"),
        ("contract-request-message.json", ["offer", "target"], None, "invalid_policy"),
        (
            "contract-request-message.json",
            ["offer", "permission", 0, "constraint", 0, "operator"],
            "before",
            "invalid_policy",
        ),  # fmt: skip
        ("contract-request-message.json", ["offer", "permission"], None, "invalid_policy"),
        ("contract-agreement-message.json", ["agreement", "assignee"], None, "invalid_policy"),
        ("contract-agreement-message.json", ["agreement", "@type"], "Offer", "invalid_policy"),
        (
            "contract-agreement-message.json",
            ["agreement", "timestamp"],
            "yesterday",
            "invalid_policy",
        ),
    ],
)
def test_invalid_values(name: str, path: list[Any], value: object, code: str) -> None:
    body = example(name)
    parent = body
    for step in path[:-1]:
        parent = parent[step]
    if value is None:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    error = refused(body, MODELS[body["@type"]])
    assert error.code == code
    assert str(path[0]) in str(error)


def test_the_schema_validator_is_not_a_rubber_stamp(validate: Callable[[Any, str], None]) -> None:
    body = example("contract-request-message.json")
    body["callbackAddress"] = "https://c.example/cb"  # both one-of branches present
    with pytest.raises(jsonschema.ValidationError):
        validate(body, "negotiation/contract-request-message-schema.json")


# -- fuzzing: whatever the body, the parser answers with a model or a MessageError ------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
EXAMPLES = sorted(p.name for p in DSP.glob("*/example/*.json") if "did-service" not in p.name)
EXAMPLES.remove("catalog.json")
EXAMPLES.remove("nested-catalog.json")
EXAMPLES.remove("dataset.json")
EXAMPLES.remove("protocol-version.json")


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _paths(item, (*prefix, i))
    return found


@settings(max_examples=300, deadline=None, database=None)
@given(name=st.sampled_from(EXAMPLES), pick=st.integers(min_value=0), value=json_values)
def test_mutated_examples_never_escape_as_other_errors(name: str, pick: int, value: Any) -> None:
    body = example(name)
    model = MODELS[body["@type"]]
    paths = _paths(body)
    path = paths[pick % len(paths)]
    mutated = copy.deepcopy(body)
    parent = mutated
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    try:
        parse_message(mutated, model)
    except MessageError:
        pass
