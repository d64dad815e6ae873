"""The data plane's pure pieces: ranges, sub-paths, data addresses, agreement terms, tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from catalog.model import ACCUMULATED, DIRECT
from connector.clock import ManualClock
from connector.dataplane.access import AccessTerms, AgreementAccessPolicy, terms_of
from connector.dataplane.errors import (
    BadDataRequest,
    RangeNotSatisfiable,
    SourceMisconfigured,
    TokenRejected,
)
from connector.dataplane.files import parse_range
from connector.dataplane.sources import clean_subpath, only_params, parse_source, serving_mode
from connector.dataplane.tokens import TransferTokens
from connector.identity.keys import KeyRing
from connector.store.dataplane_queries import TransferSnapshot

T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 100, None),
        ("bytes=0-9", 100, (0, 9)),
        ("bytes=90-", 100, (90, 99)),
        ("bytes=90-500", 100, (90, 99)),
        ("bytes=-10", 100, (90, 99)),
        ("bytes=-500", 100, (0, 99)),
        ("bytes=5-1", 100, None),  # malformed: ignored, the whole file
        ("bytes=0-1,5-6", 100, None),  # several ranges: the whole file
        ("items=0-1", 100, None),
        ("bytes=a-b", 100, None),
    ],
)
def test_byte_ranges(header: str | None, size: int, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, size) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=100-200", "bytes=-0"])
def test_unsatisfiable_ranges(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable) as caught:
        parse_range(header, 100)
    assert caught.value.headers == {"Content-Range": "bytes */100"}


@pytest.mark.parametrize(
    "bad", ["..", "a/../b", "a//b", "./a", "a/", "/a", "a\\b", "a\x00b", "a\nb"]
)
def test_sub_paths_are_plain_segments(bad: str) -> None:
    with pytest.raises(BadDataRequest):
        clean_subpath(bad)


def test_good_sub_paths_pass() -> None:
    assert clean_subpath("2026/april.csv") == "2026/april.csv"
    assert clean_subpath("上流/水位 1.csv") == "上流/水位 1.csv"
    assert clean_subpath("") == ""


def test_only_allowed_parameters() -> None:
    assert only_params([("a", "1")], ["a"]) == [("a", "1")]
    with pytest.raises(BadDataRequest) as caught:
        only_params([("a", "1"), ("b", "2")], ["a"])
    assert "'b'" in caught.value.message


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ({"type": "file", "path": "/x"}, "file"),
        ({"type": "HttpData", "baseUrl": "http://x"}, "http"),
        ({"type": "sql", "url": "sqlite:///x", "query": "SELECT 1"}, "sql"),
        ({"type": "mqtt", "host": "h", "topic": "t", "accumulate": {"size": 3}}, "mqtt"),
    ],
)
def test_data_addresses_parse(address: dict[str, object], kind: str) -> None:
    assert parse_source(address).kind == kind


@pytest.mark.parametrize(
    "address",
    [
        {},
        None,
        {"type": "ftp"},
        {"type": "file", "path": "/x", "pasword": "typo"},
        # a file or a query is always read directly: accumulation there would be a silent no-op
        {"type": "file", "path": "/x", "accumulate": {"size": 3}},
        {"type": "sql", "url": "sqlite:///x", "query": "SELECT 1", "accumulate": {}},
    ],
)
def test_unusable_data_addresses_are_refused(address: dict[str, object] | None) -> None:
    with pytest.raises(SourceMisconfigured):
        parse_source(address)


@pytest.mark.parametrize(
    ("address", "mode"),
    [
        ({"type": "file", "path": "/x"}, DIRECT),
        ({"type": "http", "baseUrl": "http://x"}, DIRECT),
        ({"type": "http", "baseUrl": "http://x", "live": {"pollSeconds": 5}}, DIRECT),
        (
            {"type": "http", "baseUrl": "http://x", "accumulate": {"intervalSeconds": 5}},
            ACCUMULATED,
        ),
        ({"type": "mqtt", "host": "h", "topic": "t"}, DIRECT),
        ({"type": "mqtt", "host": "h", "topic": "t", "accumulate": {"size": 10}}, ACCUMULATED),
        ({"type": "mqtt", "host": "h", "topic": "t", "accumulate": {"size": 0}}, DIRECT),
        ({"type": "file", "path": "/x", "accumulate": {"size": 3}}, DIRECT),  # refused when read
        (None, DIRECT),
    ],
)
def test_the_serving_mode_follows_the_data_address(
    address: dict[str, object] | None, mode: str
) -> None:
    assert serving_mode(address) == mode


def agreement(*constraints: dict[str, object]) -> dict[str, object]:
    return {
        "@type": "Agreement",
        "@id": "urn:agreement:1",
        "target": "urn:dataset:1",
        "assigner": "did:web:a",
        "assignee": "did:web:c",
        "permission": [{"action": "use", "constraint": list(constraints)}],
    }


def test_terms_come_from_date_time_and_count_constraints() -> None:
    policy = agreement(
        {
            "leftOperand": "dateTime",
            "operator": "gteq",
            "rightOperand": "2026-04-01T00:00:00+09:00",
        },
        {
            "and": [
                {
                    "leftOperand": "dateTime",
                    "operator": "lt",
                    "rightOperand": "2026-05-01T00:00:00Z",
                },
                {"leftOperand": "count", "operator": "lteq", "rightOperand": 10},
            ]
        },
        {"leftOperand": "role", "operator": "eq", "rightOperand": "municipality"},
    )
    assert terms_of(policy) == (
        AccessTerms(
            not_before=datetime(2026, 3, 31, 15, 0, tzinfo=UTC),
            not_after=datetime(2026, 5, 1, tzinfo=UTC),
            max_accesses=10,
        ),
    )
    assert (
        terms_of(agreement({"leftOperand": "count", "operator": "lt", "rightOperand": 3}))[
            0
        ].max_accesses
        == 2
    )
    assert terms_of({"not": "a policy"}) == ()


def snapshot(
    policy: dict[str, object], *, accesses: int = 0, revoked: bool = False
) -> TransferSnapshot:
    return TransferSnapshot(
        transfer_id="t",
        role="provider",
        state="STARTED",
        format="HttpData-PULL",
        counterparty_did="did:web:c",
        agreement_id=f"a-{id(policy)}",
        dataset_id="d",
        policy=policy,
        data_address={},
        access_expires_at=None,
        accesses=accesses,
        revoked_at=T0 if revoked else None,
        revoked_reason="consent withdrawn" if revoked else None,
    )


def test_the_default_access_policy() -> None:
    hook = AgreementAccessPolicy()
    window = agreement(
        {"leftOperand": "dateTime", "operator": "lt", "rightOperand": "2026-04-01T10:00:00Z"},
        {"leftOperand": "count", "operator": "lteq", "rightOperand": 2},
    )
    allowed = hook.check(snapshot(window), T0)
    assert allowed.allowed and allowed.count_limit == 2
    assert hook.check(snapshot(window), T0 + timedelta(hours=1)).code == "agreement_expired"
    assert hook.check(snapshot(window, accesses=2), T0).code == "access_limit_reached"
    revoked = hook.check(snapshot(agreement(), revoked=True), T0)
    assert revoked.code == "agreement_revoked" and "consent withdrawn" in revoked.reason
    assert hook.check(snapshot(agreement()), T0).allowed


COUNT_FORMS = [
    ("lteq", 3, 3),
    ("lteq", "3", 3),
    ("lteq", {"@value": "3", "@type": "xsd:integer"}, 3),
    ("eq", 1, 1),
    ("lt", 3, 2),
    ("lteq", 0, 0),
    ("gteq", 3, None),
    ("neq", 3, None),
    ("lteq", 2.5, None),
    ("lteq", "three", None),
    ("lteq", [1, 2], None),
    ("lt", 0, None),
]


@pytest.mark.parametrize(("op", "right", "limit"), COUNT_FORMS)
def test_the_decision_point_and_the_data_plane_read_count_alike(
    op: str, right: object, limit: int | None
) -> None:
    """What the decision point lets into an agreement is exactly the limit counted per access,
    and what it refuses is never read as 'unlimited' by the data plane."""
    from policies.decision import BasicDecisionPoint, DecisionRequest
    from policies.odrl import parse_policy

    policy = agreement({"leftOperand": "count", "operator": op, "rightOperand": right})
    decision = BasicDecisionPoint().decide(
        parse_policy(policy), DecisionRequest("negotiation", {}, T0)
    )
    [terms] = terms_of(policy)
    verdict = AgreementAccessPolicy().check(snapshot(policy), T0)
    if limit is None:
        assert not decision.allowed and "cannot be evaluated" in decision.reasons[0]
        assert terms.unreadable and verdict.code == "agreement_denies"
    else:
        assert decision.allowed is (limit > 0)
        assert terms.max_accesses == limit and not terms.unreadable
        assert verdict.allowed is (limit > 0)
        assert verdict.code == ("ok" if limit > 0 else "access_limit_reached")


def test_verified_tokens_are_cached_until_they_expire(tmp_path: Path) -> None:
    keys = KeyRing.create(tmp_path, "did:web:a")
    clock = ManualClock()
    tokens = TransferTokens(keys, own_did="did:web:a", clock=clock)
    token, expires = tokens.issue(transfer_id="t1", agreement_id="a1", consumer_did="did:web:c")
    assert (expires - clock()).total_seconds() == 300
    claims = tokens.check(f"Bearer {token}", "t1")
    assert claims.consumer_did == "did:web:c" and token in tokens._checked
    assert tokens.check(f"Bearer {token}", "t1") is claims  # no second verification
    with pytest.raises(TokenRejected) as wrong:
        tokens.check(f"Bearer {token}", "t2")
    assert wrong.value.code == "token_wrong_transfer"
    clock.advance(300)
    with pytest.raises(TokenRejected) as expired:
        tokens.check(f"Bearer {token}", "t1")
    assert expired.value.code == "token_expired" and token not in tokens._checked
    other = TransferTokens(
        KeyRing.create(tmp_path / "b", "did:web:b"), own_did="did:web:b", clock=clock
    )
    foreign, _ = other.issue(transfer_id="t1", agreement_id="a1", consumer_did="did:web:c")
    with pytest.raises(TokenRejected) as refused:
        tokens.check(f"Bearer {foreign}", "t1")
    assert refused.value.code in ("token_foreign",)
