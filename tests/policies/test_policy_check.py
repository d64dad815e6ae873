"""Writing a policy: terms outside the profile, wrong values, naive dates, malformed ODRL,
cycles and huge policies are refused with the term and the place named."""

from __future__ import annotations

from typing import Any

import pytest
from policy_support import BASIN, c, offer

from policies.errors import ConstraintCycle, PolicyError, PolicyTooLarge, UnknownTerm
from policies.geography import Basin, Geography
from policies.odrl import parse_policy
from policies.profile import PROFILE_IRI, check_policy, context, terms_used


@pytest.mark.parametrize(
    ("data", "term", "path"),
    [
        (offer(action="print"), "print", "/permission/0/action"),
        (offer(c("weather", "eq", "fine")), "weather", "/permission/0/constraint/0/leftOperand"),
        (
            offer(c("https://w3id.org/catenax/policy/Membership", "eq", "active")),
            "https://w3id.org/catenax/policy/Membership",
            "/permission/0/constraint/0/leftOperand",
        ),
        (offer(c("role", "gt", "municipality")), "gt", "/permission/0/constraint/0/operator"),
        (offer(c("count", "term-lteq", 3)), "term-lteq", "/permission/0/constraint/0/operator"),
        ({**offer(), "profile": "https://example.org/other-profile"},
         "https://example.org/other-profile", "/profile"),
        ({**offer(), "tsup:priority": "high"}, "tsup:priority", "/tsup:priority"),
        (
            {"@id": "urn:p", "permission": [{"action": "use", "duty": [{"action": "pay"}]}]},
            "pay",
            "/permission/0/duty/0/action",
        ),
        (
            offer({"and": [c("role", "eq", "a"), {"or": [c("colour", "eq", "red")]}]}),
            "colour",
            "/permission/0/constraint/0/and/1/or/0/leftOperand",
        ),
    ],
)  # fmt: skip
def test_terms_outside_the_profile_are_named(data: dict[str, Any], term: str, path: str) -> None:
    with pytest.raises(UnknownTerm) as caught:
        check_policy(data)
    assert caught.value.term == term
    assert caught.value.path == path
    assert term in str(caught.value) and path in str(caught.value)


def test_the_lenient_reader_still_reads_what_peers_send() -> None:
    policy = parse_policy(offer(c("weather", "eq", "fine")))
    assert policy.permissions[0].constraints[0].left_operand == "weather"


@pytest.mark.parametrize(
    ("constraint", "code", "path", "words"),
    [
        (c("dateTime", "lt", "2027-01-01T00:00:00"), "invalid_value", "/rightOperand", "no time zone"),
        (c("dateTime", "lt", "2027-01-01"), "invalid_value", "/rightOperand", "time zone"),
        (c("dateTime", "lt", 5), "invalid_value", "/rightOperand", "xsd:dateTime"),
        (c("elapsedTime", "lteq", "90 days"), "invalid_value", "/rightOperand", "ISO 8601 duration"),
        (c("elapsedTime", "lteq", "PT"), "invalid_value", "/rightOperand", "ISO 8601 duration"),
        (c("spatial", "eq", "131015"), "invalid_value", "/rightOperand", "check digit"),
        (c("spatial", "eq", "99"), "invalid_value", "/rightOperand", "prefecture"),
        (c("spatial", "eq", {"@id": BASIN}), "invalid_value", "/rightOperand", "isPartOf"),
        (c("payAmount", "eq", "100"), "invalid_unit", "/unit", "ISO 4217"),
        (c("payAmount", "eq", "100", unit="yen"), "invalid_unit", "/unit", "ISO 4217"),
        (c("payAmount", "eq", "a lot", unit="JPY"), "invalid_value", "/rightOperand", "decimal"),
        (c("role", "eq", "a", unit="JPY"), "invalid_value", "/unit", "takes no unit"),
        (c("role", "eq", ["a", "b"]), "invalid_value", "/rightOperand", "exactly one value"),
        (c("event", "eq", "flood"), "invalid_value", "/rightOperand", "FloodAlert"),
        (c("event", "eq", {"@type": "FloodAlert", "alertLevel": 7, "area": {"@id": BASIN}}),
         "invalid_value", "/rightOperand", "1-5"),
        (c("event", "eq", {"@type": "FloodAlert", "alertLevel": "high", "area": {"@id": BASIN}}),
         "invalid_value", "/rightOperand/alertLevel", "integer"),
        (c("count", "gt", 3), "unsupported_count", "", "lteq"),
        (c("count", "lteq", -1), "unsupported_count", "", "non-negative"),
        (c("purpose", "eq", 5), "invalid_value", "/rightOperand", "strings or IRIs"),
    ],
)  # fmt: skip
def test_wrong_values_name_the_place(constraint: dict[str, Any], code: str, path: str, words: str) -> None:  # fmt: skip
    with pytest.raises(PolicyError) as caught:
        check_policy(offer(constraint))
    assert caught.value.code == code
    assert caught.value.path == "/permission/0/constraint/0" + path
    assert words in str(caught.value)


def test_a_count_that_cannot_be_counted_is_refused_when_written() -> None:
    either = offer({"or": [c("count", "lteq", 3), c("role", "eq", "a")]})
    with pytest.raises(PolicyError) as caught:
        check_policy(either)
    assert caught.value.code == "count_not_counted"
    assert caught.value.path == "/permission/0/constraint/0/or/0"
    prohibited = {
        **offer(),
        "prohibition": [{"action": "distribute", "constraint": [c("count", "gt", 1)]}],
    }
    with pytest.raises(PolicyError) as caught:
        check_policy(prohibited)
    assert caught.value.path.startswith("/prohibition/0/constraint/0")


def test_duty_and_usage_actions_stay_in_their_place() -> None:
    with pytest.raises(PolicyError) as caught:
        check_policy(offer(action="attribute"))
    assert caught.value.code == "misplaced_action"
    with pytest.raises(PolicyError) as caught:
        check_policy({**offer(), "obligation": [{"action": "read"}]})
    assert caught.value.path == "/obligation/0/action"


def test_a_basin_unknown_to_the_geography_is_refused() -> None:
    geography = Geography([Basin(BASIN, "繋川", frozenset({"08290"}))])
    known = offer(c("spatial", "isPartOf", {"@id": BASIN}))
    assert check_policy(known, geography=geography)
    other = offer(c("spatial", "isPartOf", {"@id": "https://w3id.org/tsunagu/id/basin/x"}))
    with pytest.raises(PolicyError) as caught:
        check_policy(other, geography=geography)
    assert "no such basin" in str(caught.value)
    alert = {"@type": "FloodAlert", "alertLevel": 3, "area": {"@id": "urn:area:x"}}
    with pytest.raises(PolicyError):
        check_policy(offer(c("event", "eq", alert)), geography=geography)


@pytest.mark.parametrize(
    ("data", "code", "path"),
    [
        ({"@id": "urn:p", "permission": "use"}, "invalid_value", "/permission/0"),
        ({"@id": "urn:p", "permission": [{"action": "use", "constraint": [[1]]}]},
         "invalid_value", "/permission/0/constraint/0"),
        ({"@id": "urn:p", "permission": [{"action": "use", "constraint": [{"leftOperand": "role"}]}]},
         "invalid_constraint", "/permission/0/constraint/0"),
        ({"@id": "urn:p", "permission": [{"action": "use"}], "conflict": "whatever"},
         "invalid_conflict", "/conflict"),
        ({"@id": "urn:p", "permission": [{"action": "use"}], "timestamp": "2026-04-01T00:00"},
         "invalid_timestamp", "/timestamp"),
        ({"permission": [{"action": "use"}]}, "missing_id", "/@id"),
    ],
)  # fmt: skip
def test_malformed_odrl_names_the_place(data: dict[str, Any], code: str, path: str) -> None:
    with pytest.raises(PolicyError) as caught:
        check_policy(data)
    assert (caught.value.code, caught.value.path) == (code, path)


def test_referenced_constraints_resolve() -> None:
    data = {
        "@id": "urn:p",
        "permission": [
            {"action": "use", "constraint": [{"xone": [{"@id": "urn:c:1"}, {"@id": "urn:c:2"}]}]},
            {"action": "read", "constraint": [
                {"@id": "urn:c:1", "leftOperand": "role", "operator": "eq", "rightOperand": "a"},
                {"@id": "urn:c:2", "leftOperand": "role", "operator": "eq", "rightOperand": "b"},
            ]},
        ],
    }  # fmt: skip
    policy = check_policy(data)
    xone = policy.permissions[0].constraints[0]
    assert xone == policy.with_(permissions=(policy.permissions[0],)).permissions[0].constraints[0]
    assert [x.right_operand for x in xone.constraints] == ["a", "b"]  # type: ignore[union-attr]


def test_constraints_in_a_loop_are_a_clear_error() -> None:
    data = {
        "@id": "urn:p",
        "permission": [{"action": "use", "constraint": [
            {"@id": "urn:c:a", "and": [{"@id": "urn:c:b"}]},
        ]}],
        "prohibition": [{"action": "use", "constraint": [
            {"@id": "urn:c:b", "or": [{"@id": "urn:c:a"}]},
        ]}],
    }  # fmt: skip
    with pytest.raises(ConstraintCycle) as caught:
        parse_policy(data)
    assert caught.value.code == "constraint_cycle"
    assert "urn:c:a -> urn:c:b -> urn:c:a" in str(caught.value)
    assert caught.value.path == "/permission/0/constraint/0/and/0/or/0"
    undefined = {
        "@id": "urn:p",
        "permission": [{"action": "use", "constraint": [{"@id": "urn:c:z"}]}],
    }
    with pytest.raises(PolicyError) as caught:
        parse_policy(undefined)
    assert caught.value.code == "undefined_constraint"


def test_a_document_that_contains_itself_is_refused() -> None:
    constraint: dict[str, Any] = {"and": []}
    constraint["and"].append(constraint)
    with pytest.raises(ConstraintCycle):
        parse_policy(
            {"@id": "urn:p", "permission": [{"action": "use", "constraint": [constraint]}]}
        )


def nested(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = c("role", "eq", "a")
    for _ in range(depth):
        node = {"and": [node]}
    return node


@pytest.mark.parametrize(
    ("data", "path"),
    [
        (offer(nested(9)), "/permission/0/constraint/0" + "/and/0" * 9),
        (offer(*[c("role", "eq", str(i)) for i in range(300)]), "/permission/0/constraint/256"),
        ({"@id": "urn:p", "permission": [{"action": "use"}] * 65}, "/permission/64"),
        (offer(c("role", "isAnyOf", [str(i) for i in range(1001)])),
         "/permission/0/constraint/0/rightOperand"),
    ],
)  # fmt: skip
def test_huge_policies_are_bounded(data: dict[str, Any], path: str) -> None:
    with pytest.raises(PolicyTooLarge) as caught:
        parse_policy(data)
    assert caught.value.code == "policy_too_large"
    assert caught.value.path == path
    assert parse_policy(offer(nested(8)))  # at the bound it reads


def test_a_valid_policy_lists_its_terms() -> None:
    data = {**offer(c("role", "eq", "municipality"), {"or": [c("purpose", "isA", "purpose:disaster-response")]}),
            "profile": PROFILE_IRI, "prohibition": [{"action": "distribute"}]}  # fmt: skip
    policy = check_policy(data)
    assert terms_used(policy) == {
        "actions": ("distribute", "use"),
        "leftOperands": ("purpose", "role"),
        "operators": ("eq", "isA", "or"),
    }


def test_the_context_defines_every_profile_term_and_only_new_ones() -> None:
    from policies.profile import all_terms

    terms = context()["@context"]
    for kind, name, iri in all_terms():
        if name == "use":
            continue  # DSP's protected context defines it
        entry = terms[name]
        mapped = entry["@id"] if isinstance(entry, dict) else entry
        prefix, _, local = mapped.partition(":")
        assert terms[prefix] + local == iri, (kind, name)
    dsp = {"eq", "use", "and", "or", "target", "permission", "action", "leftOperand", "prohibit"}
    assert not dsp & set(terms)  # the DSP context is @protected: never redefine its terms
