"""Quick decisions (`explain=False`, the data plane's every access) against full ones, over
many generated policies and requests: the same answer always, the same duties and
restrictions when allowed, and the very same decision (reasons included) when refused."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from policy_support import CITY, NOW, c

from policies.decision import DecisionPoint, DecisionRequest
from policies.odrl import parse_policy

# Atomic constraints whose outcome varies with the request: true, false or undecidable.
ATOMS = [
    c("role", "eq", "municipality"),
    c("role", "eq", "company"),
    c("memberships", "hasPart", "urn:council:basin"),
    c("purpose", "eq", "https://w3id.org/tsunagu/vocab/purpose/disaster-response"),
    c("dateTime", "lt", "2026-04-01T10:00:00+00:00"),
    c("dateTime", "gteq", "2026-04-01T08:00:00+00:00"),
    c("count", "lteq", 3),
    c("elapsedTime", "lteq", "P1D"),
    c("urn:operand:sky", "eq", "blue"),  # not in the profile: undecidable
]
ACTIONS = ["use", "read", "distribute", "aggregate"]
PURPOSES = [None, "https://w3id.org/tsunagu/vocab/purpose/disaster-response", "urn:p:marketing"]
REQUESTERS = [CITY, {**CITY, "role": "company"}, {"did": "did:web:x", "memberships": []}]


def constraint(rng: random.Random, depth: int) -> dict[str, Any]:
    if depth < 2 and rng.random() < 0.3:
        operator = rng.choice(["and", "or", "xone", "andSequence"])
        return {operator: [constraint(rng, depth + 1) for _ in range(rng.randint(1, 3))]}
    atom = rng.choice(ATOMS)
    if depth and atom["leftOperand"] == "count":  # count only where it is counted
        atom = ATOMS[0]
    return atom


def rule(rng: random.Random, *, duties: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"action": rng.choice(ACTIONS)}
    if rng.random() < 0.8:
        out["constraint"] = [constraint(rng, 0) for _ in range(rng.randint(1, 4))]
    if duties and rng.random() < 0.3:
        out["duty"] = [{"action": "inform"}]
    return out


def prohibition(rng: random.Random) -> dict[str, Any]:
    out = rule(rng, duties=False)
    if "constraint" in out:  # a prohibition does not count accesses
        out["constraint"] = [x for x in out["constraint"] if x.get("leftOperand") != "count"]
    return out


def generated(rng: random.Random, n: int) -> dict[str, Any]:
    data: dict[str, Any] = {
        "@id": f"urn:offer:gen:{n}",
        "@type": "Offer",
        "permission": [rule(rng, duties=True) for _ in range(rng.randint(1, 3))],
    }
    if rng.random() < 0.5:
        data["prohibition"] = [prohibition(rng) for _ in range(rng.randint(1, 2))]
    if rng.random() < 0.5:
        data["conflict"] = rng.choice(["perm", "prohibit", "invalid"])
    if rng.random() < 0.2:
        data["obligation"] = [{"action": "attribute"}]
    return data


def request(rng: random.Random) -> DecisionRequest:
    return DecisionRequest(
        phase=rng.choice(["negotiation", "access"]),
        requester=rng.choice(REQUESTERS),
        now=NOW + timedelta(hours=rng.choice([-2, 0, 1, 30])),
        purpose=rng.choice(PURPOSES),
        action=rng.choice(ACTIONS),
        uses=rng.choice([None, 0, 2, 3, 5]),
        agreed_at=NOW - timedelta(hours=rng.choice([1, 48])),
    )


def test_quick_and_full_decisions_agree_on_many_generated_cases() -> None:
    rng = random.Random(20261207)
    pdp = DecisionPoint()
    outcomes = {True: 0, False: 0}
    for n in range(600):
        policy = parse_policy(generated(rng, n))
        for _ in range(8):
            asked = request(rng)
            full = pdp.decide(policy, asked)
            quick = pdp.decide(policy, asked, explain=False)
            assert quick.allowed is full.allowed, (policy, asked)
            outcomes[full.allowed] += 1
            if not full.allowed:
                assert quick == full  # the refusal and its reasons, exactly
                continue
            assert quick.duties == full.duties and quick.restrictions == full.restrictions
            granting = full.details[0]
            assert granting.code == "permission_satisfied"
            assert (quick.details[0].path, quick.details[0].args) == (
                granting.path,
                granting.args,
            )
    # the generator reaches both outcomes often, so the comparison means something
    assert min(outcomes.values()) > 500, outcomes


def test_a_quick_allowed_decision_skips_the_explanation() -> None:
    policy = parse_policy(
        {
            "@id": "urn:offer:q",
            "@type": "Offer",
            "permission": [
                {
                    "action": "use",
                    "constraint": [ATOMS[0], ATOMS[2]],
                    "duty": [{"action": "inform"}],
                }
            ],
            "prohibition": [{"action": "distribute"}],
        }
    )
    asked = DecisionRequest("access", CITY, NOW)
    full = DecisionPoint().decide(policy, asked)
    quick = DecisionPoint().decide(policy, asked, explain=False)
    assert full.allowed and quick.allowed
    assert [r.code for r in quick.details] == ["permission_satisfied"]
    assert quick.details[0].because == () and full.details[0].because != ()
    assert len(full.details) > len(quick.details)  # duty and restriction shown in full only
    assert [d.action for d in quick.duties] == [d.action for d in full.duties]
