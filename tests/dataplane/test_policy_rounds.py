"""A policy monitor round reads the running transfers a page at a time: its reads do not grow
with the number of transfers, and it still ends exactly those whose agreement stopped
holding and resumes exactly those it may; on SQLite and PostgreSQL. The transfers are rows
written straight into a store and decided by the connector's own access policy (the decision
point, the consumer's kept claims); the transfer service and the open streams are stand-ins
that record what the monitor asks of them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import event

from connector.clock import ManualClock
from connector.control.hold_rules import Steps
from connector.errors import Conflict
from connector.policy.access import DecisionAccessPolicy
from connector.policy.environment import PolicyEnvironment
from connector.policy.monitor import PolicyMonitor
from connector.protocol.transfer import TransferEvent
from connector.store.database import build_engine
from connector.store.dataplane_queries import DataPlaneQueries
from connector.store.store import Store
from tests.store.transfer_rows import T0, add_transfer, from_, suspend, until, use

pytestmark = pytest.mark.anyio

EXPIRED = use(until(T0 - timedelta(hours=1)))  # terminated
NOT_YET = use(from_(T0 + timedelta(hours=1)))  # suspended: it may hold later
HOLDS = use(until(T0 + timedelta(hours=1)))


@dataclass
class Transfers:
    """The transfer service as the monitor uses it: what it was asked to do, recorded."""

    acted: list[tuple[str, TransferEvent, str | None]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)  # moved meanwhile: `act` says so
    by_hand: set[str] = field(default_factory=set)  # their owner resumes them

    def act(self, pid: str, event: TransferEvent, *, code: str | None = None, **_: Any) -> None:
        if pid in self.refuse:
            raise Conflict(f"{pid} moved meanwhile", code="invalid_transition")
        self.acted.append((pid, event, code))

    def steps_of(self, pid: str) -> Steps:
        return Steps(resume="hold" if pid in self.by_hand else "auto")


@dataclass
class Streams:
    cut_ones: list[str] = field(default_factory=list)

    def cut(self, pid: str, reason: str) -> None:
        self.cut_ones.append(pid)


@dataclass
class Round:
    store: Store
    monitor: PolicyMonitor
    transfers: Transfers
    streams: Streams
    reads: list[str]

    async def run(self) -> tuple[int, int]:
        """(what the round ended or resumed, the reads it made), from fresh records."""
        self.transfers.acted.clear()
        self.streams.cut_ones.clear()
        self.reads.clear()
        done = await self.monitor.run_once()
        return done, len(self.reads)

    def acted(self) -> set[tuple[str, TransferEvent, str | None]]:
        return set(self.transfers.acted)


@pytest.fixture
def store(migrated_database_url: str) -> Iterator[Store]:
    s = Store(build_engine(migrated_database_url))
    yield s
    s.dispose()


def a_round(store: Store, clock: ManualClock, *, page: int = 500) -> Round:
    reads: list[str] = []

    def note(*_: Any) -> None:
        # The audit log's sealer thread seals the events written here: not the round's work.
        if threading.current_thread().name != "tsunagu-audit-sealer":
            reads.append("read")

    # Every read takes a connection from the pool, a store transaction or the raw one the
    # snapshots are read on (SQLAlchemy's cursor events do not see those statements).
    event.listen(store.engine, "checkout", note)
    transfers, streams = Transfers(), Streams()
    dataplane = SimpleNamespace(queries=DataPlaneQueries(store), streams=streams)
    monitor = PolicyMonitor(
        store,
        clock,
        transfers=transfers,  # type: ignore[arg-type]
        access=DecisionAccessPolicy(PolicyEnvironment(None).pdp, store),
        dataplane=dataplane,  # type: ignore[arg-type]
        page=page,
    )
    return Round(store, monitor, transfers, streams, reads)


def started(store: Store, prefix: str, n: int) -> set[tuple[str, TransferEvent, str | None]]:
    """`n` started transfers, a third each expired, not yet valid and holding, and beside
    them ones the monitor leaves alone; returns what a round is to do about them."""
    due: set[tuple[str, TransferEvent, str | None]] = set()
    for i in range(n):
        tid = f"{prefix}-{i:03d}"
        policy = (EXPIRED, NOT_YET, HOLDS)[i % 3]
        add_transfer(store, tid, policy=policy)
        if policy is EXPIRED:
            due.add((tid, TransferEvent.TERMINATION, "agreement_expired"))
        elif policy is NOT_YET:
            due.add((tid, TransferEvent.SUSPENSION, "agreement_not_yet_valid"))
    add_transfer(store, f"{prefix}-owing", policy=EXPIRED, pending="TERMINATION")
    add_transfer(store, f"{prefix}-theirs", policy=EXPIRED, role="consumer")
    add_transfer(store, f"{prefix}-done", policy=EXPIRED, state="TERMINATED")
    return due


async def test_a_rounds_reads_do_not_grow_with_the_transfers_it_ends(
    store: Store, clock: ManualClock
) -> None:
    monitor = a_round(store, clock)
    due = started(store, "few", 3)
    done, few_reads = await monitor.run()
    assert monitor.acted() == due and done == len(due) == 2
    assert sorted(monitor.streams.cut_ones) == sorted(tid for tid, _, _ in due)
    due |= started(store, "many", 30)  # the stand-in ended nothing: the first ones are due again
    done, many_reads = await monitor.run()
    assert monitor.acted() == due and done == len(due) == 22
    # a page of STARTED ones, their requesters (the consumers' kept claims), a page of
    # SUSPENDED ones (none)
    assert many_reads == few_reads == 3
    done, again = await monitor.run()
    assert monitor.acted() == due and again == 2  # the requesters are known by now


async def test_a_round_over_several_pages_acts_on_each_transfer_once(
    store: Store, clock: ManualClock
) -> None:
    monitor = a_round(store, clock, page=4)
    due = started(store, "t", 17)
    monitor.transfers.refuse.add("t-000")  # terminated meanwhile, by the peer
    due.remove(("t-000", TransferEvent.TERMINATION, "agreement_expired"))
    done, reads = await monitor.run()
    assert sorted(monitor.transfers.acted) == sorted(due) and done == len(due)
    assert "t-000" not in monitor.streams.cut_ones
    assert reads == 5 * 2 + 1  # 17 STARTED ones in pages of 4 and their requesters; no others


async def test_a_round_resumes_what_it_suspended_once_the_agreement_holds(
    store: Store, clock: ManualClock
) -> None:
    monitor = a_round(store, clock)
    expected: set[tuple[str, TransferEvent, str | None]] = set()

    def suspended(tid: str, policy: dict[str, Any], direction: str, code: str) -> None:
        add_transfer(store, tid, policy=policy, state="SUSPENDED")
        suspend(store, tid, direction="outbound", code="agreement_not_yet_valid")
        # the last suspension is the one that holds it (resumed and suspended again since)
        suspend(store, tid, direction=direction, code=code, at=T0 + timedelta(seconds=1))

    for n in range(4):
        suspended(f"ours-{n}", HOLDS, "outbound", "alert_not_in_force")
        expected.add((f"ours-{n}", TransferEvent.START, "agreement_holds_again"))
        suspended(f"still-{n}", NOT_YET, "outbound", "agreement_not_yet_valid")
        suspended(f"consumers-{n}", HOLDS, "inbound", "paused")
        suspended(f"operators-{n}", HOLDS, "outbound", "operator")
    suspended("by-hand", HOLDS, "outbound", "alert_not_in_force")
    monitor.transfers.by_hand.add("by-hand")
    add_transfer(store, "never-suspended", policy=HOLDS, state="SUSPENDED")  # no event: left
    add_transfer(store, "owing", policy=HOLDS, state="SUSPENDED", pending="START")
    suspend(store, "owing", direction="outbound", code="alert_not_in_force")
    done, reads = await monitor.run()
    assert monitor.acted() == expected and done == 4
    assert monitor.streams.cut_ones == []
    # a page of STARTED ones (none), of SUSPENDED ones, their requesters, their suspensions
    assert reads == 4
