"""kill -9 of real `tsunagu serve` processes at random moments during many negotiations and
transfers (and so during the audit appends every transition makes in `Transaction.seal`).

After the processes come back, every process reaches the state its operator asked for exactly
once, both sides agree, and both audit logs verify. The default run is a bounded profile; set
TSUNAGU_CRASH_FULL=1 for the long one (and TSUNAGU_CRASH_SEED to replay a run's kill timing).
`benchmarks/crash.py` runs the same and prints the figures.

A failure names the seed, every finding, and the end of each process's log.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PG_ENV
from tests.crash.chaos import Report, chaos
from tests.crash.cluster import Cluster

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

FULL = os.environ.get("TSUNAGU_CRASH_FULL") == "1"
FLOWS, CONCURRENCY = (60, 6) if FULL else (10, 4)


def _seed() -> int:
    return int(os.environ.get("TSUNAGU_CRASH_SEED") or random.randrange(1 << 30))


def _context(seed: int, cluster: Cluster, report: Report | None = None) -> str:
    found = report.details() if report is not None else "(no report: the run itself failed)"
    return f"TSUNAGU_CRASH_SEED={seed} replays the kill timing\n{found}\n{cluster.log_tails()}"


async def _run(cluster: Cluster, seed: int, **options: Any) -> Report:
    """The chaos run on a started cluster, stopped afterwards; when the run itself fails
    (a process that never came back), the error carries the seed and the logs."""
    try:
        await cluster.start()
        return await chaos(cluster, seed=seed, **options)
    except BaseException as exc:
        exc.add_note(_context(seed, cluster))
        raise
    finally:
        await cluster.stop()


def _clean(report: Report, seed: int, cluster: Cluster) -> None:
    findings = (report.lost, report.duplicated, report.disagreeing, report.audit)
    assert findings == ([], [], [], []), _context(seed, cluster, report)


async def _survives(cluster: Cluster, interval: tuple[float, float]) -> Report:
    seed = _seed()
    report = await _run(cluster, seed, flows=FLOWS, concurrency=CONCURRENCY, interval=interval)
    # the run is only worth something if it killed
    assert report.kills > 0, _context(seed, cluster, report)
    _clean(report, seed, cluster)
    return report


async def test_sqlite_connectors_killed_at_random_finish_every_process(tmp_path: Path) -> None:
    await _survives(Cluster(tmp_path), interval=(0.2, 1.0))


@pytest.mark.postgres
async def test_two_processes_per_participant_on_postgresql_killed_at_random(
    tmp_path: Path,
) -> None:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} not set (CI sets it to the local PostgreSQL)")
    cluster = Cluster(tmp_path, postgres=url, processes=2)
    report = await _survives(cluster, interval=(0.2, 1.0))
    for node in cluster.nodes:  # the proxies spread requests over every process
        assert report.served.get(node.base, 0) > 0, (node.label, report.served)


async def test_kill_points_after_delivery_and_in_audit_appends(tmp_path: Path) -> None:
    """The processes kill themselves (TSUNAGU_CRASH_POINTS) right after a peer acknowledged a
    message, before recording it, and with audit entries written but not committed."""
    seed = _seed()
    cluster = Cluster(tmp_path)
    report = await _run(
        cluster,
        seed,
        flows=max(6, FLOWS // 3),
        concurrency=CONCURRENCY,
        interval=(3600.0, 3600.0),  # no kills from outside: only the kill points
        # About 40 acknowledged messages in six flows: at 0.15 each, a run without a single
        # kill (which would prove nothing and fails the test) is about one draw in 700; at 0.1
        # it was one in about 30.
        crash_points="sent:0.15,seal:0.01",
    )
    assert report.self_kills > 0, _context(seed, cluster, report)
    _clean(report, seed, cluster)
