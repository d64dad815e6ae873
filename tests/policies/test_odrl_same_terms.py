"""`same_terms`: equal ODRL structure whatever the JSON-LD spelling; different terms differ.

The property tests generate policies, re-spell their JSON the ways other connectors do
(prefixes, full IRIs, `{"@id"}` wrappers, single values for arrays, shuffled arrays) and check
that neither the comparison nor a policy decision changes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.decision import BasicDecisionPoint, DecisionRequest
from policies.odrl import (
    Constraint,
    LogicalConstraint,
    LogicalOperator,
    Operator,
    Policy,
    Reference,
    Rule,
    parse_policy,
    same_terms,
    terms_key,
)

ODRL = "http://www.w3.org/ns/odrl/2/"


def offer(
    *permissions: Rule, prohibitions: tuple[Rule, ...] = (), uid: str = "urn:offer:1"
) -> Policy:
    return Policy(
        kind="Offer", uid=uid, target="urn:ds:1", permissions=permissions, prohibitions=prohibitions
    )


ROLE = Constraint("role", Operator.EQ, "municipality")
BASIN = Constraint("memberships", Operator.HAS_PART, "basin-a")
UNTIL = Constraint("dateTime", Operator.LT, "2027-01-01T00:00:00Z")
BASE = offer(Rule("use", (ROLE, BASIN, UNTIL)), Rule("read"), prohibitions=(Rule("distribute"),))


def test_bookkeeping_is_ignored() -> None:
    agreement = BASE.to_agreement(uid="urn:agreement:9", assigner="did:web:a", assignee="did:web:c",
                                  timestamp=datetime(2026, 4, 1, tzinfo=UTC), target="urn:ds:2")  # fmt: skip
    catalog_offer = BASE.with_(uid="urn:other", target=None, profile=("https://profile.example",))
    assert same_terms(BASE, agreement)
    assert same_terms(BASE, catalog_offer)
    assert terms_key(BASE) == terms_key(agreement) == terms_key(catalog_offer)


def test_order_and_duplicates_are_ignored() -> None:
    reordered = offer(
        Rule("read"), Rule("use", (UNTIL, ROLE, BASIN)), prohibitions=(Rule("distribute"),)
    )
    duplicated = offer(Rule("use", (ROLE, BASIN, UNTIL, ROLE)), Rule("read"), Rule("read"),
                       prohibitions=(Rule("distribute"),))  # fmt: skip
    assert same_terms(BASE, reordered)
    assert same_terms(BASE, duplicated)
    a = offer(Rule("use", (Constraint("purpose", Operator.IS_ANY_OF, ("a", "b", "c")),)))
    b = offer(Rule("use", (Constraint("purpose", Operator.IS_ANY_OF, ("c", "a", "b")),)))
    assert same_terms(a, b)
    or_ab = offer(Rule("use", (LogicalConstraint(LogicalOperator.OR, (ROLE, BASIN)),)))
    or_ba = offer(Rule("use", (LogicalConstraint(LogicalOperator.OR, (BASIN, ROLE, BASIN)),)))
    assert same_terms(or_ab, or_ba)


def test_and_sequence_is_ordered_and_xone_counts_duplicates() -> None:
    seq_ab = offer(Rule("use", (LogicalConstraint(LogicalOperator.AND_SEQUENCE, (ROLE, BASIN)),)))
    seq_ba = offer(Rule("use", (LogicalConstraint(LogicalOperator.AND_SEQUENCE, (BASIN, ROLE)),)))
    assert not same_terms(seq_ab, seq_ba)
    xone_ab = offer(Rule("use", (LogicalConstraint(LogicalOperator.XONE, (ROLE, BASIN)),)))
    xone_ba = offer(Rule("use", (LogicalConstraint(LogicalOperator.XONE, (BASIN, ROLE)),)))
    xone_abb = offer(Rule("use", (LogicalConstraint(LogicalOperator.XONE, (ROLE, BASIN, BASIN)),)))
    assert same_terms(xone_ab, xone_ba)
    assert not same_terms(xone_ab, xone_abb)


@pytest.mark.parametrize(
    "changed",
    [
        offer(Rule("use", (Constraint("role", Operator.EQ, "company"), BASIN, UNTIL)), Rule("read"),
              prohibitions=(Rule("distribute"),)),  # value
        offer(Rule("use", (Constraint("role", Operator.NEQ, "municipality"), BASIN, UNTIL)), Rule("read"),
              prohibitions=(Rule("distribute"),)),  # operator
        offer(Rule("use", (Constraint("purpose", Operator.EQ, "municipality"), BASIN, UNTIL)), Rule("read"),
              prohibitions=(Rule("distribute"),)),  # left operand
        offer(Rule("use", (ROLE, BASIN)), Rule("read"), prohibitions=(Rule("distribute"),)),  # one fewer
        offer(Rule("use", (ROLE, BASIN, UNTIL)), Rule("display"), prohibitions=(Rule("distribute"),)),  # action
        offer(Rule("use", (ROLE, BASIN, UNTIL)), Rule("read")),  # prohibition dropped
        offer(Rule("use", (ROLE, BASIN, UNTIL)), prohibitions=(Rule("distribute"), Rule("read"))),  # moved
        offer(Rule("use", (ROLE, BASIN, UNTIL), duties=(Rule("delete"),)), Rule("read"),
              prohibitions=(Rule("distribute"),)),  # a duty added
        offer(Rule("use", (LogicalConstraint(LogicalOperator.OR, (ROLE, BASIN, UNTIL)),)), Rule("read"),
              prohibitions=(Rule("distribute"),)),  # and -> or
        offer(Rule("use", (ROLE, Constraint("memberships", Operator.HAS_PART, Reference("basin-a")), UNTIL)),
              Rule("read"), prohibitions=(Rule("distribute"),)),  # literal -> IRI
    ],
)  # fmt: skip
def test_changed_terms_differ(changed: Policy) -> None:
    assert not same_terms(BASE, changed)
    assert terms_key(BASE) != terms_key(changed)


# -- property tests ---------------------------------------------------------------------------

ODRL_KEYS = {
    "permission", "prohibition", "obligation", "duty", "action", "constraint", "leftOperand",
    "operator", "rightOperand", "and", "or", "xone", "andSequence", "target", "assigner",
    "assignee", "profile",
}  # fmt: skip
TERM_VALUES = {"action", "leftOperand", "operator"}


@st.composite
def atomic(draw: st.DrawFn) -> Constraint:
    left = draw(
        st.sampled_from(
            ["role", "memberships", "municipalityCode", "purpose", "dateTime", "spatial"]
        )
    )
    values = {
        "role": ["municipality", "company", "auditor"],
        "memberships": ["basin-a", "basin-b", "council"],
        "municipalityCode": ["13", "131016", "13101", "011002"],
        "purpose": ["dpv:PublicBenefit", "research"],
        "dateTime": ["2026-01-01T00:00:00Z", "2026-06-01T00:00:00+09:00"],
        "spatial": ["http://example.org/EU"],
    }[left]
    operator = draw(st.sampled_from(list(Operator)))
    operand = draw(st.lists(st.sampled_from(values), min_size=1, max_size=3))
    return Constraint(left, operator, tuple(operand))


def constraints() -> st.SearchStrategy[Constraint | LogicalConstraint]:
    return st.recursive(
        atomic(),
        lambda inner: st.builds(
            LogicalConstraint,
            st.sampled_from(list(LogicalOperator)),
            st.lists(inner, min_size=1, max_size=3).map(tuple),
        ),
        max_leaves=5,
    )


rules = st.builds(
    Rule,
    st.sampled_from(["use", "read", "distribute"]),
    st.lists(constraints(), max_size=3).map(tuple),
    st.lists(st.builds(Rule, st.sampled_from(["delete", "inform"])), max_size=1).map(tuple),
)
policies = st.builds(
    lambda p, q, o: Policy(kind="Offer", uid="urn:offer:1", target="urn:ds:1", permissions=p, prohibitions=q,
                           obligations=o),
    st.lists(rules, min_size=1, max_size=3).map(tuple),
    st.lists(rules, max_size=2).map(tuple),
    st.lists(rules, max_size=1).map(tuple),
)  # fmt: skip


def respell(data: Any, draw: Callable[..., Any], key: str | None = None) -> Any:
    """The same JSON-LD, written the ways other connectors write it."""
    if isinstance(data, dict):
        out = {}
        for k, v in data.items():
            new_key = k
            if k in ODRL_KEYS:
                new_key = draw(st.sampled_from([k, "odrl:" + k, ODRL + k]))
            out[new_key] = respell(v, draw, k)
        if "@type" in out:
            out["@type"] = draw(
                st.sampled_from([out["@type"], "odrl:" + out["@type"], [ODRL + out["@type"]]])
            )
        return out
    if isinstance(data, list):
        items = [respell(v, draw, key) for v in data]
        if key != "andSequence":
            items = draw(st.permutations(items))
        if len(items) == 1 and draw(st.booleans()):
            return items[0]  # a single value where an array is expected
        if key in ("and", "or", "xone", "andSequence") and draw(st.booleans()):
            return {"@list": items}
        return items
    if isinstance(data, str) and key in TERM_VALUES:
        return draw(st.sampled_from([data, "odrl:" + data, ODRL + data, {"@id": "odrl:" + data}]))
    if isinstance(data, str) and key == "rightOperand" and draw(st.booleans()):
        return {"@value": data}
    return data


REQUESTERS = [
    {"role": "municipality", "memberships": ["basin-a"], "municipality_code": "131016"},
    {"role": "company", "memberships": ["council", "basin-b"], "municipality_code": "011002"},
    {},
]


@settings(max_examples=40, deadline=None, database=None)
@given(policy=policies, data=st.data())
def test_respelling_changes_nothing(policy: Policy, data: st.DataObject) -> None:
    spelled = respell(copy.deepcopy(policy.to_json()), data.draw)
    reread = parse_policy(spelled)
    assert same_terms(reread, policy)
    assert terms_key(reread) == terms_key(policy)
    pdp = BasicDecisionPoint()
    for requester in REQUESTERS:
        request = DecisionRequest(
            "negotiation", requester, datetime(2026, 3, 1, tzinfo=UTC), purpose="research"
        )
        assert pdp.decide(reread, request).allowed == pdp.decide(policy, request).allowed


@settings(max_examples=40, deadline=None, database=None)
@given(policy=policies)
def test_serialisation_round_trips(policy: Policy) -> None:
    assert parse_policy(policy.to_json()) == policy
    assert same_terms(policy, policy.with_(uid="urn:x"))
