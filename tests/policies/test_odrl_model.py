"""The policy model's invariants and its DSP JSON form."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest

from policies.errors import PolicyError
from policies.odrl import (
    Constraint,
    LogicalConstraint,
    LogicalOperator,
    Operator,
    Policy,
    Rule,
    format_timestamp,
)

USE = Rule("use", (Constraint("purpose", Operator.EQ, "research"),))
OFFER = Policy(kind="Offer", uid="urn:offer:1", target="urn:ds:1", permissions=(USE,))
NOW = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


def test_offer_json_with_and_without_target() -> None:
    in_message = OFFER.to_json()
    assert in_message == {
        "@id": "urn:offer:1",
        "@type": "Offer",
        "target": "urn:ds:1",
        "permission": [
            {
                "action": "use",
                "constraint": [
                    {"leftOperand": "purpose", "operator": "eq", "rightOperand": "research"}
                ],
            }
        ],
    }
    in_catalog = OFFER.to_json(include_target=False)
    assert "target" not in in_catalog
    assert {k: v for k, v in in_message.items() if k != "target"} == in_catalog


def test_agreement_from_offer() -> None:
    agreement = OFFER.to_agreement(
        uid="urn:agr:1", assigner="did:web:a", assignee="did:web:c", timestamp=NOW
    )
    assert agreement.kind == "Agreement"
    assert agreement.permissions == OFFER.permissions
    assert agreement.to_json() == {
        "@id": "urn:agr:1",
        "@type": "Agreement",
        "target": "urn:ds:1",
        "assigner": "did:web:a",
        "assignee": "did:web:c",
        "timestamp": "2026-04-01T09:00:00Z",
        "permission": OFFER.to_json()["permission"],
    }
    # An agreement keeps its target even when asked for the catalogue form.
    assert agreement.to_json(include_target=False)["target"] == "urn:ds:1"
    # dataclasses.replace works the same way (the control plane uses it).
    assert (
        dataclasses.replace(
            OFFER,
            kind="Agreement",
            uid="urn:agr:1",
            assigner="did:web:a",
            assignee="did:web:c",
            timestamp=NOW,
        )
        == agreement
    )


def test_agreement_needs_a_target() -> None:
    with pytest.raises(PolicyError) as caught:
        OFFER.with_(target=None).to_agreement(uid="u", assigner="a", assignee="c", timestamp=NOW)
    assert caught.value.code == "missing_target"
    explicit = OFFER.with_(target=None).to_agreement(
        uid="u", assigner="a", assignee="c", timestamp=NOW, target="t"
    )
    assert explicit.target == "t"


@pytest.mark.parametrize(
    ("build", "code"),
    [
        (lambda: Policy(kind="Offer", uid="urn:x"), "no_rules"),
        (lambda: Policy(kind="Offer", uid="", permissions=(USE,)), "missing_id"),
        (lambda: Policy(kind="Ticket", uid="urn:x", permissions=(USE,)), "invalid_type"),  # type: ignore[arg-type]
        (lambda: OFFER.with_(kind="Agreement"), "incomplete_agreement"),
        (lambda: OFFER.with_(kind="Agreement", assigner="a"), "incomplete_agreement"),
        (lambda: Rule(""), "missing_action"),
        (lambda: Constraint("", Operator.EQ, "x"), "invalid_constraint"),
        (lambda: Constraint("a", "before", "x"), "unknown_operator"),  # type: ignore[arg-type]
        (lambda: Constraint("a", Operator.EQ, ()), "invalid_constraint"),
        (lambda: Constraint("a", Operator.EQ, 5), "invalid_constraint"),  # type: ignore[arg-type]
        (lambda: LogicalConstraint(LogicalOperator.AND, ()), "invalid_constraint"),
        (lambda: LogicalConstraint("nand", (USE.constraints[0],)), "invalid_constraint"),  # type: ignore[arg-type]
    ],
)
def test_invariants(build: object, code: str) -> None:
    with pytest.raises(PolicyError) as caught:
        build()  # type: ignore[operator]
    assert caught.value.code == code


def test_constructors_canonicalise_spelling() -> None:
    c = Constraint("odrl:dateTime", "http://www.w3.org/ns/odrl/2/lteq", ["2026-01-01T00:00:00Z"])  # type: ignore[arg-type]
    assert c == Constraint("dateTime", Operator.LTEQ, "2026-01-01T00:00:00Z")
    assert Rule("odrl:use") == Rule("use")
    assert LogicalConstraint("odrl:or", (c,)).operator is LogicalOperator.OR  # type: ignore[arg-type]
    # Only the ODRL namespace is folded; community operands keep their IRI.
    cx = "https://w3id.org/catenax/policy/Membership"
    assert Constraint(cx, Operator.EQ, "active").left_operand == cx
    # Lists become tuples, so policies are hashable values.
    from_list = Constraint("a", Operator.IS_ANY_OF, ["x", "y"])  # type: ignore[arg-type]
    assert from_list == Constraint("a", Operator.IS_ANY_OF, ("x", "y"))
    assert hash(from_list) == hash(Constraint("a", Operator.IS_ANY_OF, ("x", "y")))
    assert hash(OFFER) == hash(OFFER.with_())


def test_profiles_and_obligations_serialise() -> None:
    policy = OFFER.with_(profile=("https://p/1",), obligations=(Rule("delete"),))
    assert policy.to_json()["profile"] == "https://p/1"
    assert policy.to_json()["obligation"] == [{"action": "delete"}]
    assert policy.with_(profile=("https://p/1", "https://p/2")).to_json()["profile"] == [
        "https://p/1",
        "https://p/2",
    ]
    logical = Rule(
        "use", (LogicalConstraint(LogicalOperator.XONE, USE.constraints * 2),), (Rule("inform"),)
    )
    assert OFFER.with_(permissions=(logical,)).to_json()["permission"] == [
        {
            "action": "use",
            "constraint": [
                {
                    "xone": [
                        {"leftOperand": "purpose", "operator": "eq", "rightOperand": "research"}
                    ]
                    * 2
                }
            ],
            "duty": [{"action": "inform"}],
        }
    ]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime(2026, 4, 1, 9, 0, tzinfo=UTC), "2026-04-01T09:00:00Z"),
        (datetime(2026, 4, 1, 9, 0, 0, 250000, tzinfo=UTC), "2026-04-01T09:00:00.250000Z"),
        (
            datetime(2026, 4, 1, 18, 0, tzinfo=timezone(timedelta(hours=9))),
            "2026-04-01T18:00:00+09:00",
        ),
        (datetime(2026, 4, 1, 9, 0), "2026-04-01T09:00:00"),
    ],
)
def test_timestamps(value: datetime, text: str) -> None:
    assert format_timestamp(value) == text
