"""A message's policy is parsed once per content: the same offer again is the same value; other
content, another kind or a bad policy is parsed (and refused) anew each time."""

from __future__ import annotations

from typing import Any

import pytest

from connector.errors import MessageError
from connector.protocol.base import parse_message
from connector.protocol.messages import ContractAgreementMessage, ContractRequestMessage

CONTEXT = ["https://w3id.org/dspace/2025/1/context.jsonld"]


def _request(offer: dict[str, Any]) -> ContractRequestMessage:
    body = {
        "@context": CONTEXT,
        "@type": "ContractRequestMessage",
        "consumerPid": "urn:uuid:1",
        "callbackAddress": "http://127.0.0.1:2/cb",
        "offer": offer,
    }
    return parse_message(body, ContractRequestMessage)


def _offer(action: str = "use") -> dict[str, Any]:
    return {
        "@type": "Offer",
        "@id": "urn:o:1",
        "target": "urn:d",
        "permission": [{"action": action}],
    }


def test_the_same_offer_again_is_the_same_parsed_value() -> None:
    first, again = _request(_offer()).offer, _request(_offer()).offer
    assert first is again
    other = _request(_offer("read")).offer
    assert other is not first and other.permissions[0].action != first.permissions[0].action


def test_a_policy_of_another_kind_is_judged_by_its_own_kind() -> None:
    _request(_offer())  # kept as an Offer
    with pytest.raises(MessageError) as caught:
        parse_message(
            {
                "@context": CONTEXT,
                "@type": "ContractAgreementMessage",
                "providerPid": "urn:uuid:p",
                "consumerPid": "urn:uuid:c",
                "agreement": _offer(),
            },
            ContractAgreementMessage,
        )
    assert caught.value.code == "invalid_policy"


def test_a_bad_policy_is_refused_every_time() -> None:
    bad = {**_offer(), "permission": [{"action": 7}]}
    for _ in range(2):
        with pytest.raises(MessageError) as caught:
            _request(bad)
        assert caught.value.code == "invalid_policy"
