"""`DataPlaneQueries.snapshots`, the policy monitor's read: the snapshots of our transfers in
given states and role that owe the peer nothing, a page at a time, exactly as `snapshot`
reads each one; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest

from connector.store.consent_tables import ConsentVersionRow
from connector.store.dataplane_queries import DataPlaneQueries, TransferSnapshot
from connector.store.store import Store
from tests.store.transfer_rows import T0, add_transfer, until, use


@pytest.fixture
def queries(store: Store) -> DataPlaneQueries:
    return DataPlaneQueries(store)


def every_page(
    queries: DataPlaneQueries, role: str, states: Sequence[str], page: int
) -> list[list[TransferSnapshot]]:
    pages, after = [], ""
    while True:
        found = queries.snapshots(role, states, after=after, page=page)
        pages.append(found)
        if len(found) < page:
            return pages
        after = found[-1].transfer_id


def test_the_snapshots_are_what_snapshot_reads_of_each(
    store: Store, queries: DataPlaneQueries
) -> None:
    used = {
        "accesses": 3,
        "last_access_at": T0 + timedelta(minutes=1),
        "revoked_at": T0 + timedelta(minutes=2),
        "revoked_reason": "consent withdrawn",
    }
    add_transfer(store, "t-plain")
    add_transfer(store, "t-used", usage=used, policy=use(until(T0 + timedelta(hours=1))))
    add_transfer(store, "t-personal", personal=True, grant=False, usage={"accesses": 1})
    add_transfer(store, "t-owing", pending="TERMINATION")  # owes the peer a message
    add_transfer(store, "t-paused", state="SUSPENDED", personal=True)
    add_transfer(store, "t-paused-owing", state="SUSPENDED", pending="START")
    add_transfer(store, "t-theirs", role="consumer")
    add_transfer(store, "t-asked", state="REQUESTED")
    with store.transaction() as tx:
        version = tx.session.get(ConsentVersionRow, 1)
        assert version is not None
        version.value = 7
        tx.add(version)

    def one_by_one(*ids: str) -> list[TransferSnapshot | None]:
        return [queries.snapshot(tid) for tid in ids]

    started = queries.snapshots("provider", ["STARTED"])
    assert started == one_by_one("t-personal", "t-plain", "t-used")
    # what is read is not left at its defaults: usage, revocation, consent all came through
    used_one = started[2]
    assert (used_one.accesses, used_one.revoked_reason) == (3, "consent withdrawn")
    assert used_one.last_access_at == T0 + timedelta(minutes=1)
    assert used_one.policy == use(until(T0 + timedelta(hours=1)))
    assert (started[0].subject_field, started[0].consent_version) == ("resident", 7)
    assert started[0].access_expires_at is None and started[1].access_expires_at is not None
    assert started[1].consent_version is None and started[1].accesses == 0
    both = queries.snapshots("provider", ["STARTED", "SUSPENDED"])
    assert both == one_by_one("t-paused", "t-personal", "t-plain", "t-used")
    assert queries.snapshots("provider", ["SUSPENDED"]) == one_by_one("t-paused")
    assert queries.snapshots("consumer", ["STARTED"]) == one_by_one("t-theirs")
    assert queries.snapshots("provider", ["TERMINATED"]) == []
    assert queries.snapshots("provider", []) == []


@pytest.mark.parametrize("page", [1, 3, 7, 500])
def test_more_transfers_than_a_page_are_each_read_once(
    store: Store, queries: DataPlaneQueries, page: int
) -> None:
    ids = [f"t-{n:02d}" for n in (5, 1, 9, 3, 7, 2, 8)]  # not written in id order
    for tid in ids:
        add_transfer(store, tid)
    add_transfer(store, "t-04", pending="SUSPENSION")  # between the others, never read
    pages = every_page(queries, "provider", ["STARTED"], page)
    assert [s.transfer_id for p in pages for s in p] == sorted(ids)
    assert all(len(p) == page for p in pages[:-1]) and len(pages[-1]) < page
    assert len(pages) == len(ids) // page + 1
