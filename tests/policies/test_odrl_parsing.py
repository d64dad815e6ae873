"""Reading ODRL policies: the spec's examples, the spellings other connectors send, and errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from policies.errors import PolicyError
from policies.odrl import (
    Constraint,
    LiteralValue,
    LogicalConstraint,
    LogicalOperator,
    Operator,
    Policy,
    Reference,
    Rule,
    parse_constraint,
    parse_policy,
    same_terms,
)

DSP = Path(__file__).resolve().parents[2].parent / "shared" / "dsp"
ODRL = "http://www.w3.org/ns/odrl/2/"
XSD = "http://www.w3.org/2001/XMLSchema#"


def policies_in_examples() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(DSP.glob("*/example/*.json")):
        data = json.loads(path.read_text())
        for key in ("offer", "agreement"):
            if key in data:
                found.append((f"{path.name}:{key}", data[key]))
        datasets = [data] if data.get("@type") == "Dataset" else []
        datasets += data.get("dataset", []) if data.get("@type") == "Catalog" else []
        for dataset in datasets:
            for i, offer in enumerate(dataset["hasPolicy"]):
                found.append((f"{path.name}:hasPolicy[{i}]", offer))
    return found


EXAMPLE_POLICIES = policies_in_examples()


def test_examples_hold_policies(shared_dir: Path) -> None:
    assert DSP == shared_dir / "dsp"
    assert len(EXAMPLE_POLICIES) == 8


@pytest.mark.parametrize(
    "data", [d for _, d in EXAMPLE_POLICIES], ids=[w for w, _ in EXAMPLE_POLICIES]
)
def test_example_policies_parse_and_round_trip(data: dict[str, Any]) -> None:
    policy = parse_policy(data)
    assert policy.kind == data["@type"]
    assert policy.uid == data["@id"]
    assert policy.to_json() == data
    assert parse_policy(policy.to_json()) == policy


def test_the_full_agreement_example_in_detail() -> None:
    data = json.loads(
        (DSP / "negotiation/example/contract-agreement-message-full.json").read_text()
    )
    policy = parse_policy(data["agreement"])
    assert policy.kind == "Agreement"
    assert policy.target == "urn:uuid:3dd1add4-4d2d-569e-d634-8394a8836d23"
    assert (policy.assigner, policy.assignee) == (
        "http://example.com/Provider",
        "http://example.com/Consumer",
    )
    assert policy.profile == ("https://test.com/profile",)
    assert policy.timestamp == datetime(2023, 1, 1, 1, 0, tzinfo=UTC)
    assert [type(r.constraints[0]).__name__ for r in policy.permissions] == [
        "Constraint", "LogicalConstraint", "LogicalConstraint", "Constraint",
        "LogicalConstraint", "LogicalConstraint", "LogicalConstraint",
    ]  # fmt: skip
    nested = policy.permissions[6].constraints[0]
    assert nested == LogicalConstraint(
        LogicalOperator.OR,
        (
            LogicalConstraint(
                LogicalOperator.AND,
                (
                    Constraint("constraint1", Operator.EQ, "value1"),
                    Constraint("constraint2", Operator.EQ, "value2"),
                ),
            ),
            Constraint("partner", Operator.EQ, "silver"),
        ),
    )


COMPACT = {
    "@id": "urn:offer:1",
    "@type": "Offer",
    "target": "urn:dataset:1",
    "permission": [
        {
            "action": "use",
            "constraint": [
                {
                    "leftOperand": "purpose",
                    "operator": "isAnyOf",
                    "rightOperand": ["dpv:PublicBenefit", "x"],
                },
                {"or": [{"leftOperand": "role", "operator": "eq", "rightOperand": "municipality"}]},
            ],
        }
    ],
    "prohibition": [{"action": "distribute"}],
}
PREFIXED = {
    "@id": "urn:offer:1",
    "@type": "odrl:Offer",
    "odrl:target": {"@id": "urn:dataset:1"},
    "odrl:permission": {
        "odrl:action": {"@id": "odrl:use"},
        "odrl:constraint": [
            {
                "odrl:or": {
                    "odrl:leftOperand": "odrl:role",
                    "odrl:operator": {"@id": "odrl:eq"},
                    "odrl:rightOperand": "municipality",
                }
            },  # fmt: skip
            {
                "odrl:leftOperand": {"@id": "odrl:purpose"},
                "odrl:operator": "odrl:isAnyOf",
                "odrl:rightOperand": ["x", {"@value": "dpv:PublicBenefit"}],
            },  # fmt: skip
        ],
    },
    "odrl:prohibition": [{"odrl:action": "odrl:distribute"}],
}
EXPANDED = {  # JSON-LD expanded form: full IRIs, every value an array, @list for logical operands
    "@id": "urn:offer:1",
    "@type": [ODRL + "Offer"],
    ODRL + "target": [{"@id": "urn:dataset:1"}],
    ODRL + "permission": [
        {
            ODRL + "action": [{"@id": ODRL + "use"}],
            ODRL + "constraint": [
                {
                    ODRL + "leftOperand": [{"@id": ODRL + "purpose"}],
                    ODRL + "operator": [{"@id": ODRL + "isAnyOf"}],
                    ODRL + "rightOperand": [{"@value": "dpv:PublicBenefit"}, {"@value": "x"}],
                },
                {
                    ODRL + "or": [
                        {
                            "@list": [
                                {
                                    ODRL + "leftOperand": [{"@id": ODRL + "role"}],
                                    ODRL + "operator": [{"@id": ODRL + "eq"}],
                                    ODRL + "rightOperand": [
                                        {"@value": "municipality", "@type": XSD + "string"}
                                    ],
                                }
                            ]
                        }
                    ]
                },
            ],
        }
    ],
    ODRL + "prohibition": [{ODRL + "action": [{"@id": ODRL + "distribute"}]}],
}


@pytest.mark.parametrize("spelling", [PREFIXED, EXPANDED], ids=["prefixed", "expanded"])
def test_spellings_normalise_to_one_model(spelling: dict[str, Any]) -> None:
    compact = parse_policy(COMPACT)
    other = parse_policy(spelling)
    assert (other.kind, other.uid, other.target) == (compact.kind, compact.uid, compact.target)
    assert other.prohibitions == compact.prohibitions
    # Order of constraints and of list operands is kept as sent; JSON-LD does not order them.
    assert same_terms(other, compact)
    assert other.to_json()["permission"][0]["action"] == "use"
    written = json.dumps(other.to_json())
    assert "odrl:" not in written and ODRL not in written


def test_canonical_model_values() -> None:
    policy = parse_policy(PREFIXED)
    (permission,) = policy.permissions
    logical, atomic = permission.constraints
    assert logical == LogicalConstraint(
        LogicalOperator.OR, (Constraint("role", Operator.EQ, "municipality"),)
    )
    assert atomic == Constraint("purpose", Operator.IS_ANY_OF, ("x", "dpv:PublicBenefit"))
    assert policy.prohibitions == (Rule("distribute"),)


@pytest.mark.parametrize(
    ("operand", "expected"),
    [
        ("EU", "EU"),
        (["EU"], "EU"),  # a one-element array is the value itself
        ({"@value": "EU"}, "EU"),
        ({"@value": "EU", "@type": "xsd:string"}, "EU"),
        ({"@id": "http://example.org/EU"}, Reference("http://example.org/EU")),
        ({"@id": "odrl:EU"}, Reference(ODRL + "EU")),
        (
            {"@value": "2026-01-01T00:00:00Z", "@type": "xsd:dateTime"},
            LiteralValue("2026-01-01T00:00:00Z", XSD + "dateTime"),
        ),  # fmt: skip
        ({"@value": "川", "@language": "JA"}, LiteralValue("川", None, "ja")),
        (5, LiteralValue("5", XSD + "integer")),
        (True, LiteralValue("true", XSD + "boolean")),
        ({"@value": 5, "@type": "xsd:integer"}, LiteralValue("5", XSD + "integer")),
        (["a", "b"], ("a", "b")),
        ({"@list": ["a", "b"]}, ("a", "b")),
    ],
)
def test_right_operand_forms(operand: object, expected: object) -> None:
    constraint = parse_constraint(
        {"leftOperand": "spatial", "operator": "eq", "rightOperand": operand}
    )
    assert isinstance(constraint, Constraint)
    assert constraint.right_operand == expected


def test_typed_right_operands_serialise_compactly() -> None:
    data = {"leftOperand": "dateTime", "operator": "lt",
            "rightOperand": {"@value": "2026-01-01T00:00:00Z", "@type": XSD + "dateTime"}}  # fmt: skip
    policy = Policy(kind="Set", uid="urn:p", permissions=(Rule("use", (parse_constraint(data),)),))
    written = policy.to_json()["permission"][0]["constraint"][0]["rightOperand"]
    assert written == {"@value": "2026-01-01T00:00:00Z", "@type": "xsd:dateTime"}


def rule(**extra: Any) -> dict[str, Any]:
    return {"@id": "urn:p", "@type": "Offer", "permission": [{"action": "use", **extra}]}


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ([], "invalid_value"),
        ({"@type": "Offer", "permission": [{"action": "use"}]}, "missing_id"),
        ({"@id": "urn:p", "@type": "Request", "permission": [{"action": "use"}]}, "invalid_type"),
        (
            {"@id": "urn:p", "@type": ["Offer", "Agreement"], "permission": [{"action": "use"}]},
            "invalid_type",
        ),
        ({"@id": "urn:p", "@type": "Offer"}, "no_rules"),
        ({"@id": "urn:p", "@type": "Offer", "obligation": [{"action": "pay"}]}, "no_rules"),
        ({"@id": "urn:p", "@type": "Offer", "permission": [{}]}, "missing_action"),
        ({"@id": "urn:p", "@type": "Offer", "permission": [{"action": ""}]}, "invalid_value"),
        ({"@id": "urn:p", "@type": "Offer", "permission": ["use"]}, "invalid_value"),
        (rule(target="urn:dataset:1"), "rule_target"),
        (
            rule(constraint=[{"leftOperand": "a", "operator": "before", "rightOperand": "b"}]),
            "unknown_operator",
        ),
        (
            rule(constraint=[{"leftOperand": "a", "operator": "odrl:before", "rightOperand": "b"}]),
            "unknown_operator",
        ),
        (rule(constraint=[{"leftOperand": "a", "operator": "eq"}]), "invalid_constraint"),
        (
            rule(constraint=[{"leftOperand": "a", "operator": "eq", "rightOperand": []}]),
            "invalid_constraint",
        ),
        (rule(constraint=[{}]), "invalid_constraint"),
        (rule(constraint=[{"and": [], "or": []}]), "invalid_constraint"),
        (
            rule(
                constraint=[
                    {
                        "and": [{"leftOperand": "a", "operator": "eq", "rightOperand": "b"}],
                        "leftOperand": "a",
                    }
                ]
            ),
            "invalid_constraint",
        ),  # fmt: skip
        (rule(constraint=[{"and": []}]), "invalid_constraint"),
        (
            rule(constraint=[{"leftOperand": "a", "operator": ["eq", "neq"], "rightOperand": "b"}]),
            "invalid_value",
        ),
        (
            rule(constraint=[{"leftOperand": "a", "operator": "eq", "rightOperandReference": "b"}]),
            "unsupported_feature",
        ),  # fmt: skip
        (
            rule(
                constraint=[
                    {"leftOperand": "a", "operator": "eq", "rightOperand": "b", "dataType": "x"}
                ]
            ),
            "unsupported_feature",
        ),  # fmt: skip
        (
            rule(constraint=[{"leftOperand": "a", "operator": "eq", "rightOperand": {"x": 1}}]),
            "unsupported_feature",
        ),
        (rule(assignee="did:web:x"), "unsupported_feature"),
        (
            {
                "@id": "urn:p",
                "@type": "Offer",
                "permission": [{"action": {"rdf:value": {"@id": "use"}, "refinement": []}}],
            },
            "unsupported_feature",
        ),  # fmt: skip
        ({**rule(), "inheritFrom": "urn:parent"}, "unsupported_feature"),
        (
            {**rule(), "assignee": {"@type": "PartyCollection", "source": "x"}},
            "unsupported_feature",
        ),
        ({**rule(), "target": ["urn:a", "urn:b"]}, "invalid_value"),
        (
            {**rule(), "@type": "Agreement", "target": "urn:a", "assigner": "did:a"},
            "incomplete_agreement",
        ),
        ({**rule(), "timestamp": "2023-01-01"}, "invalid_timestamp"),
        ({**rule(), "timestamp": "2023-13-01T00:00:00Z"}, "invalid_timestamp"),
    ],
)
def test_structural_errors(data: Any, code: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(data)
    assert caught.value.code == code
    assert str(caught.value)


def test_expected_kind() -> None:
    untyped = {"@id": "urn:p", "permission": [{"action": "use"}]}
    assert parse_policy(untyped).kind == "Set"  # ODRL's default
    assert parse_policy(untyped, expected_kind="Offer").kind == "Offer"
    with pytest.raises(PolicyError) as caught:
        parse_policy({**untyped, "@type": "Agreement"}, expected_kind="Offer")
    assert caught.value.code in ("wrong_policy_type", "incomplete_agreement")
    with pytest.raises(PolicyError) as caught:
        parse_policy({**untyped, "@type": "Set"}, expected_kind="Offer")
    assert caught.value.code == "wrong_policy_type"


def test_other_keys_are_ignored() -> None:
    data = {**rule(), "@context": "http://www.w3.org/ns/odrl.jsonld", "dct:title": "Flood data",
            "edc:extensibleProperty": {"a": 1}}  # fmt: skip
    assert parse_policy(data) == parse_policy(rule())


def test_duties_and_obligations() -> None:
    data = {
        "@id": "urn:p",
        "@type": "Offer",
        "permission": [{"action": "use", "duty": {"action": "compensate",
                        "constraint": {"leftOperand": "payAmount", "operator": "eq", "rightOperand": "100"}}}],
        "obligation": [{"action": "delete"}],
    }  # fmt: skip
    policy = parse_policy(data)
    assert policy.permissions[0].duties == (
        Rule("compensate", (Constraint("payAmount", Operator.EQ, "100"),)),
    )
    assert policy.obligations == (Rule("delete"),)
    assert parse_policy(policy.to_json()) == policy
