"""Policy decisions per second, in-process, for a realistic agreement against the simplest one.

The agreement is the basin story's: a municipality of the basin (spatial isPartOf the basin,
role, membership), for disaster response or narrower (purpose isA), within its fiscal year
(two dateTime bounds), for 90 days after the agreement (elapsedTime), at most 10,000 accesses
(count), and only while a flood alert of level 3 or higher is in force (event), with no
onward transfer: 9 constraints and a prohibition. The baseline is a one-constraint policy
(role eq municipality), decided by the same decision point in the same run. Both are parsed
once; what is measured is `DecisionPoint.decide` as the data plane calls it on every access
(compiled policies are cached by value, so the lookup is part of the cost).

Printed: decisions/s for both, the ratio, and whether the agreement meets the target
(> 20,000 decisions/s).

    python benchmarks/policy.py [--decisions 200000] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from policies.alerts import StaticAlertState
from policies.decision import DecisionPoint, DecisionRequest
from policies.geography import Basin, Geography
from policies.odrl import parse_policy
from policies.profile import check_policy

BASIN = "https://w3id.org/tsunagu/id/basin/tsunagu-river"
PURPOSE = "https://w3id.org/tsunagu/vocab/purpose/"
TARGET = 20_000
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def constraint(left: str, op: str, right: object) -> dict[str, object]:
    return {"leftOperand": left, "operator": op, "rightOperand": right}


AGREEMENT = {
    "@id": "urn:bench:agreement",
    "@type": "Agreement",
    "target": "urn:bench:dataset",
    "assigner": "did:web:a-city.example",
    "assignee": "did:web:c-village.example",
    "profile": "https://w3id.org/tsunagu/policy",
    "permission": [
        {
            "action": "use",
            "constraint": [
                constraint("role", "eq", "municipality"),
                constraint("membership", "hasPart", "urn:council:basin"),
                constraint("spatial", "isPartOf", {"@id": BASIN}),
                constraint("purpose", "isA", {"@id": PURPOSE + "disaster-response"}),
                constraint("dateTime", "gteq", "2026-04-01T00:00:00+09:00"),
                constraint("dateTime", "lt", "2027-04-01T00:00:00+09:00"),
                constraint("elapsedTime", "lteq", "P90D"),
                constraint("count", "lteq", 10000),
                constraint(
                    "event",
                    "eq",
                    {"@type": "FloodAlert", "alertLevel": 3, "area": {"@id": BASIN}},
                ),
            ],
        }
    ],
    "prohibition": [{"action": "distribute"}],
}
BASELINE = {
    "@id": "urn:bench:simple",
    "@type": "Offer",
    "permission": [{"action": "use", "constraint": [constraint("role", "eq", "municipality")]}],
}


def rate(pdp: DecisionPoint, policy: object, requests: list[DecisionRequest], n: int) -> float:
    decide = pdp.decide
    count = len(requests)
    start = time.perf_counter()
    for i in range(n):
        decision = decide(policy, requests[i % count])  # type: ignore[arg-type]
        if not decision.allowed:
            raise SystemExit(f"unexpected refusal: {decision.reasons}")
    return n / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=200_000)
    parser.add_argument("--quick", action="store_true", help="20,000 decisions (a few seconds)")
    args = parser.parse_args()
    n = 20_000 if args.quick else args.decisions

    geography = Geography([Basin(BASIN, "繋川", frozenset({"08290", "08590", "20432"}))])
    pdp = DecisionPoint(geography=geography, alerts=StaticAlertState({BASIN: 3}))
    agreement = check_policy(AGREEMENT, geography=geography)
    simple = parse_policy(BASELINE)
    requester = {"did": "did:web:c-village.example", "role": "municipality",
                 "municipality_code": "204323", "memberships": ["urn:council:basin"]}  # fmt: skip
    requests = [
        DecisionRequest(
            "access",
            requester,
            NOW + timedelta(seconds=i),
            action="read",
            purpose=PURPOSE + "evacuation-decision-support",
            uses=i,
            agreed_at=NOW - timedelta(days=10),
        )  # fmt: skip
        for i in range(100)
    ]
    rate(pdp, agreement, requests, 1_000)  # warm up: compile, purpose hierarchy
    rate(pdp, simple, requests, 1_000)
    baseline = rate(pdp, simple, requests, n)
    realistic = rate(pdp, agreement, requests, n)
    constraints = len(agreement.permissions[0].constraints)
    print(f"decisions per run           {n:>12,}")
    print(f"baseline (1 constraint)     {baseline:>12,.0f} decisions/s")
    print(f"agreement ({constraints} constraints)   {realistic:>12,.0f} decisions/s")
    print(f"ratio                       {realistic / baseline:>12.3f}")
    met = realistic > TARGET
    print(f"target > {TARGET:,}/s          {'met' if met else 'NOT met':>12}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
