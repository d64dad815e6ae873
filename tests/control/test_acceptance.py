"""A consumer's decision on a provider's offer, the rules' settings, and an agreement's window:
pure functions, table-driven."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connector.control.acceptance import decide_on_offer, rule_miss, window_opens
from connector.control.hold_rules import (
    AcceptRule,
    HoldSettings,
    Steps,
    accept_rules_of,
    load_hold_settings,
    parse_offer_steps,
)
from connector.errors import ConfigError, MessageError
from connector.participant import init_participant
from connector.settings import load_settings, write_settings
from policies.odrl import parse_policy

DR = "https://w3id.org/tsunagu/vocab/purpose/disaster-response"
EVACUATION = "https://w3id.org/tsunagu/vocab/purpose/evacuation"
COUNCIL = "urn:council"
PROVIDER = "did:web:a.example"


def offer(*constraints: dict[str, Any], duties: list[dict[str, Any]] | None = None) -> Any:
    permission: dict[str, Any] = {"action": "use"}
    if constraints:
        permission["constraint"] = list(constraints)
    if duties:
        permission["duty"] = duties
    return parse_policy({"@type": "Offer", "@id": "urn:o", "permission": [permission]})


PURPOSE_DR = {"leftOperand": "purpose", "operator": "isA", "rightOperand": {"@id": DR}}
PAY = {
    "action": "compensate",
    "constraint": [
        {"leftOperand": "payAmount", "operator": "eq", "rightOperand": "10", "unit": "JPY"}
    ],
}
MEMBER = {"memberships": [COUNCIL]}


def decide(o: Any, asked: Any = None, *rules: AcceptRule, claims: Any = None) -> Any:
    return decide_on_offer(
        o, asked=asked, rules=rules, provider=PROVIDER, claims=claims or MEMBER, dataset_id="urn:d"
    )


def test_the_terms_we_asked_for_are_accepted_whatever_their_spelling() -> None:
    asked = offer(PURPOSE_DR)
    respelled = offer({**PURPOSE_DR, "operator": "odrl:isA"})
    assert decide(respelled, asked).accepted


@pytest.mark.parametrize(
    "changed",
    [
        offer(PURPOSE_DR, duties=[PAY]),  # a payment duty added
        offer({**PURPOSE_DR, "rightOperand": {"@id": EVACUATION}}),  # a narrower purpose
        offer(),  # wider
    ],
)
def test_other_terms_wait_without_a_rule(changed: Any) -> None:
    decision = decide(changed, offer(PURPOSE_DR))
    assert not decision.accepted and "no acceptance rule" in decision.reason


def test_an_offer_out_of_nowhere_waits_without_a_rule() -> None:
    decision = decide(offer(PURPOSE_DR))
    assert not decision.accepted and "opened with an offer" in decision.reason


RULE = AcceptRule(member_of=(COUNCIL,), purposes=(DR,), no_payment=True)


@pytest.mark.parametrize(
    ("o", "rule", "claims", "miss"),
    [
        (offer(PURPOSE_DR), RULE, MEMBER, None),
        (offer(), RULE, MEMBER, None),  # no purpose limit: disaster response is permitted
        (offer(PURPOSE_DR, duties=[PAY]), RULE, MEMBER, "payment duty"),
        (offer({**PURPOSE_DR, "rightOperand": {"@id": EVACUATION}}), RULE, MEMBER, "permit use"),
        (offer(PURPOSE_DR), RULE, {"memberships": []}, "not a member"),
        (offer(PURPOSE_DR), AcceptRule(peers=("did:web:other",)), MEMBER, "listed peers"),
        (offer(PURPOSE_DR), AcceptRule(datasets=("urn:other",)), MEMBER, "listed datasets"),
        (offer(duties=[{"action": "delete"}]), AcceptRule(duties=("attribute",)), MEMBER, "delete"),
        (offer(duties=[{"action": "attribute"}]), AcceptRule(duties=("attribute",)), MEMBER, None),
    ],
)
def test_rules(o: Any, rule: AcceptRule, claims: Any, miss: str | None) -> None:
    got = rule_miss(rule, o, provider=PROVIDER, claims=claims, dataset_id="urn:d")
    assert (got is None) if miss is None else (got is not None and miss in got)
    assert decide(o, None, rule, claims=claims).accepted is (miss is None)


def test_window_opens_at_the_latest_lower_bound() -> None:
    gteq = {"leftOperand": "dateTime", "operator": "gteq", "rightOperand": "2026-05-01T00:00:00Z"}
    gt = {"leftOperand": "dateTime", "operator": "gt", "rightOperand": "2026-05-02T00:00:00Z"}
    lt = {"leftOperand": "dateTime", "operator": "lt", "rightOperand": "2026-06-01T00:00:00Z"}
    assert window_opens(offer(gteq, gt, lt)) == datetime(2026, 5, 2, tzinfo=UTC)
    assert window_opens(offer(lt)) is None
    assert window_opens(offer()) is None


def test_settings_round_trip_through_tsunagu_toml(tmp_path: Path) -> None:
    settings = init_participant(tmp_path / "p", name="p", port=8500, dev_mode=True)
    holds = HoldSettings(
        steps=Steps(after_accept="hold", finalize="hold", transfer_start="window", verify="hold"),
        accept=(RULE, AcceptRule(peers=(PROVIDER,), duties=())),
        webhook="http://127.0.0.1:9/hook",
    )
    write_settings(dataclasses.replace(settings, holds=holds))
    assert load_settings(settings.directory).holds == holds
    text = (settings.directory / "tsunagu.toml").read_text()
    assert "[[consumer.accept]]" in text and 'transfer_start = "window"' in text


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"provider": {"finalize": "later"}}, "finalize must be one of auto, hold"),
        ({"provider": {"verify": "hold"}}, "consumer step"),
        ({"consumer": {"accept": [{"colour": "red"}]}}, "unknown condition 'colour'"),
        ({"consumer": {"accept": [{"no_payment": "yes"}]}}, "no_payment must be true or false"),
        ({"holds": {"webhook": 3}}, "webhook must be a URL"),
    ],
)
def test_bad_settings_are_named(data: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_hold_settings(data, where="tsunagu.toml")
    assert words in str(caught.value)


def test_bad_request_rules_and_offer_steps_are_message_errors() -> None:
    with pytest.raises(MessageError) as caught:
        accept_rules_of([{"peers": 3}], where="accept")
    assert caught.value.code == "invalid_accept_rule" and "accept[0]" in str(caught.value)
    with pytest.raises(MessageError) as steps:
        parse_offer_steps({"verify": "hold"})
    assert steps.value.code == "invalid_steps"
    assert parse_offer_steps({"finalize": "hold"}) == {"finalize": "hold"}
