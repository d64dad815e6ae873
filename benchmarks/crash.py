"""kill -9 under load: real `tsunagu serve` processes SIGKILLed at random moments during many
negotiations and transfers, then checked (tests/crash/chaos.py does the work; the crash suite
in tests/crash runs the same with assertions).

Printed per database: processes run (negotiations + transfers the operator asked for), kills,
lost, duplicated, disagreeing, audit logs that fail to verify, the longest recovery (a kill
until every flow in flight then moved on) and, as its baseline from the same run, the longest
restart (a kill until the process answers again): what recovery costs beyond coming back.

SQLite runs one process per participant; with TSUNAGU_TEST_DATABASE_URL set, PostgreSQL runs
two processes per participant sharing its database behind a round-robin proxy.

    python benchmarks/crash.py [--quick] [--flows 60] [--concurrency 6] [--seed N]
                               [--crash-points sent:0.05,seal:0.01]
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
import os
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/crash is the harness

from tests.crash.chaos import Report, chaos
from tests.crash.cluster import Cluster


async def one(label: str, args: argparse.Namespace, postgres: str | None) -> Report:
    with tempfile.TemporaryDirectory(prefix="tsunagu-crash-") as tmp:
        cluster = Cluster(Path(tmp), postgres=postgres, processes=2 if postgres else 1)
        try:
            await cluster.start()
            report = await chaos(
                cluster,
                flows=args.flows,
                concurrency=args.concurrency,
                interval=(args.min_interval, args.max_interval),
                seed=args.seed,
                crash_points=args.crash_points,
            )
        finally:
            await cluster.stop()
    print(f"\n== {label} (seed {args.seed}) ==")
    print(f"processes run                 {report.processes:6d}")
    print(f"kills (SIGKILL)               {report.kills:6d}")
    print(f"  + at crash points           {report.self_kills:6d}")
    print(f"lost                          {len(report.lost):6d}")
    print(f"duplicated                    {len(report.duplicated):6d}")
    print(f"disagreeing                   {len(report.disagreeing):6d}")
    print(f"audit logs failing to verify  {len(report.audit):6d}")
    longest_restart = max(report.restarts, default=0.0)
    ratio = report.longest_recovery / longest_restart if longest_restart else 0.0
    print(
        f"longest recovery              {report.longest_recovery:6.2f} s   "
        f"(longest restart {longest_restart:.2f} s; ratio {ratio:.2f})"
    )
    for problem in [*report.lost, *report.duplicated, *report.disagreeing, *report.audit][:10]:
        print(f"  ! {problem}")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a short run (under 60 s)")
    parser.add_argument("--flows", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=6)
    parser.add_argument("--min-interval", type=float, default=0.2)
    parser.add_argument("--max-interval", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=random.randrange(1 << 30))
    parser.add_argument(
        "--crash-points",
        default=None,
        metavar="SPEC",
        help="processes also kill themselves there, e.g. sent:0.05,seal:0.01 "
        "(TSUNAGU_CRASH_POINTS, connector/control/crash_points.py)",
    )
    args = parser.parse_args()
    if args.quick:
        args.flows, args.concurrency = 8, 4
    os.environ.pop("TSUNAGU_DATABASE_URL", None)
    reports = [asyncio.run(one("SQLite, one process per participant", args, None))]
    pg = os.environ.get("TSUNAGU_TEST_DATABASE_URL")
    if pg:
        label = "PostgreSQL, two processes per participant behind a proxy"
        reports.append(asyncio.run(one(label, args, pg)))
    sys.exit(0 if all(r.ok for r in reports) else 1)


if __name__ == "__main__":
    main()
