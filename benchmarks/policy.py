"""Policy decisions per second, in-process, for a realistic agreement against the simplest one.

The agreement is the basin story's: a municipality of the basin (spatial isPartOf the basin,
role, membership), for disaster response or narrower (purpose isA), within its fiscal year
(two dateTime bounds), for 90 days after the agreement (elapsedTime), at most 10,000 accesses
(count), and only while a flood alert of level 3 or higher is in force (event), with no
onward transfer: 9 constraints and a prohibition. The baseline is a one-constraint policy
(role eq municipality), decided by the same decision point in the same run. Both are parsed
once; what is measured is `DecisionPoint.decide` with its explanation (compiled policies are cached
by value, so the lookup is part of the cost), and the quick decision the data plane makes on
every access (`explain=False`: the same answer, no reasons assembled unless refused).

Printed: decisions/s for both, the ratio, and whether the agreement meets the target
(> 20,000 decisions/s).

Then a small data-plane read (a 1 KiB file, pulled over loopback HTTP from a running provider
connector under an agreement with the same kind of terms) with the policy checks on and off
in the same run, in alternating rounds: on, every read is decided by the decision point;
off, only the token and transfer are checked. A third figure adds a `count` to the terms:
each read is then also counted (one conditional UPDATE, the price of never over-using it).
Printed: reads/s each way and the overhead (target: policy adds < 10%).

    python benchmarks/policy.py [--decisions 200000] [--reads 2000] [--quick]
"""

from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

# Run as a script, this folder comes first on sys.path, and benchmarks/catalog.py would stand
# in for the catalog package: leave the folder off.
_sys.path[:] = [
    p for p in _sys.path if _Path(p or ".").resolve() != _Path(__file__).parent.resolve()
]

import argparse
import asyncio
import statistics
import sys
import tempfile
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


def rate(
    pdp: DecisionPoint,
    policy: object,
    requests: list[DecisionRequest],
    n: int,
    *,
    explain: bool = True,
) -> float:
    decide = pdp.decide
    count = len(requests)
    start = time.perf_counter()
    for i in range(n):
        decision = decide(policy, requests[i % count], explain=explain)  # type: ignore[arg-type]
        if not decision.allowed:
            raise SystemExit(f"unexpected refusal: {decision.reasons}")
    return n / (time.perf_counter() - start)


READ_TARGET = 0.10  # policy adds less than 10% to a small read


def read_offer(consumer_did: str, *, counted: bool) -> dict[str, object]:
    """The data-plane benchmark's offer: what a connector decides at every access."""
    return {
        "@id": f"urn:bench:read-offer:{counted}",
        "@type": "Offer",
        "permission": [
            {
                "action": "use",
                "constraint": [
                    constraint("role", "eq", "municipality"),
                    constraint("membership", "hasPart", "urn:council:basin"),
                    constraint("spatial", "isPartOf", {"@id": BASIN}),
                    constraint("recipient", "eq", {"@id": consumer_did}),
                    constraint("dateTime", "gteq", "2026-01-01T00:00:00+09:00"),
                    constraint("dateTime", "lt", "2030-01-01T00:00:00+09:00"),
                    constraint("elapsedTime", "lteq", "P90D"),
                    *([constraint("count", "lteq", 100_000_000)] if counted else []),
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


async def read_overhead(reads: int, rounds: int) -> dict[str, float]:
    """Median reads/s with the policy checks off, on, and on with a `count` to keep (one
    counting write per read), in alternating rounds."""
    import httpx

    from connector.demo.localspace import LocalDataspace

    with tempfile.TemporaryDirectory(prefix="tsunagu-bench-policy-") as tmp:
        root = Path(tmp)
        (root / "data.csv").write_text("station,level\n" + "上流,1.42\n" * 80)
        async with LocalDataspace(root) as space:
            await space.start_authority()
            member = {"municipality_code": "204323", "memberships": ["urn:council:basin"]}
            provider = await space.add("a", "A市", **member)
            consumer = await space.add("c", "C村", **member)
            env = provider.connector.policy
            assert env is not None and env.access is not None
            env.use_geography(Geography([Basin(BASIN, "繋川", frozenset({"20432"}))]))
            env.alerts.set_level(BASIN, 3)
            endpoints = {}
            for counted in (True, False):
                dataset = f"urn:bench:read:{counted}"
                await provider.client.call(
                    "POST",
                    "/datasets",
                    json={
                        "id": dataset,
                        "title": "bench",
                        "data_address": {"type": "file", "path": str(root / "data.csv")},
                        "offers": [{"policy": read_offer(consumer.did, counted=counted)}],
                    },
                )
                body = {"provider": provider.did, "dataset_id": dataset}
                started = await consumer.client.call("POST", "/negotiations", json=body)
                done = await consumer.client.wait_for(
                    "negotiations", started["id"], ["FINALIZED"], timeout=30
                )
                transfer = await consumer.client.call(
                    "POST", "/transfers", json={"agreement_id": done["agreement_id"]}
                )
                record = await consumer.client.wait_for(
                    "transfers", transfer["id"], ["STARTED"], timeout=30
                )
                address = record["data_address"]
                props = {p["name"]: p["value"] for p in address["endpointProperties"]}
                endpoints[counted] = (address["endpoint"], props["authorization"])
            figures: dict[str, list[float]] = {"off": [], "on": [], "counted": []}
            async with httpx.AsyncClient(timeout=30) as http:

                async def measure(counted: bool, n: int) -> float:
                    url, token = endpoints[counted]
                    headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": "identity"}
                    start = time.perf_counter()
                    for _ in range(n):
                        response = await http.get(url, headers=headers)
                        if response.status_code != 200:
                            raise SystemExit(f"read refused: {response.text}")
                    return n / (time.perf_counter() - start)

                for counted in (True, False):  # warm up: token cache, compiled policy
                    await measure(counted, 30)
                for _ in range(rounds):
                    env.access.enabled = False
                    figures["off"].append(await measure(False, reads))
                    env.access.enabled = True
                    figures["on"].append(await measure(False, reads))
                    figures["counted"].append(await measure(True, reads))
    return {k: statistics.median(v) for k, v in figures.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=200_000)
    parser.add_argument("--reads", type=int, default=2_000, help="reads per round and mode")
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
    quick = rate(pdp, agreement, requests, n, explain=False)
    constraints = len(agreement.permissions[0].constraints)
    print(f"decisions per run           {n:>12,}")
    print(f"baseline (1 constraint)     {baseline:>12,.0f} decisions/s")
    print(f"agreement ({constraints} constraints)   {realistic:>12,.0f} decisions/s")
    print(f"ratio                       {realistic / baseline:>12.3f}")
    print(f"  ... quick (explain=False) {quick:>12,.0f} decisions/s  (the data plane's path)")
    met = realistic > TARGET
    print(f"target > {TARGET:,}/s          {'met' if met else 'NOT met':>12}")
    reads, rounds = (200, 3) if args.quick else (args.reads, 5)
    figures = asyncio.run(read_overhead(reads, rounds))
    off, on, counted = figures["off"], figures["on"], figures["counted"]
    overhead = off / on - 1
    print(f"\nsmall data-plane read ({reads} reads x {rounds} rounds each, medians)")
    print(f"policy checks off (baseline) {off:>11,.0f} reads/s")
    print(f"policy checks on (8 terms)   {on:>11,.0f} reads/s  ratio {on / off:.3f}")
    print(f"  ... and a count kept        {counted:>11,.0f} reads/s  ratio {counted / off:.3f}")
    print(f"policy adds                  {overhead:>11.1%}  (counting: {off / counted - 1:.1%})")
    read_met = overhead < READ_TARGET
    print(f"target < {READ_TARGET:.0%} added           {'met' if read_met else 'NOT met':>12}")
    return 0 if met and read_met else 1


if __name__ == "__main__":
    sys.exit(main())
