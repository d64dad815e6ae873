"""The consent gate keeps its answer between accesses, on SQLite and PostgreSQL, and it stays
exact: a change made through another Store (another connector process on the same database) is
seen by the very next access, a consent for a later date joins when it starts, and a cover
ends at its validity's end, all without waiting for anything."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from connector.clock import ManualClock, system_clock
from connector.dataplane.consent import ConsentGate, LiveSubjects
from connector.identity.keys import SigningKey
from connector.identity.receipts import sign_receipt
from connector.store.consent_queries import ConsentQueries
from connector.store.consent_tables import ConsentGrantRow
from connector.store.database import build_engine
from connector.store.dataplane_queries import TransferSnapshot
from connector.store.store import Store
from policies.consent import ConsentRecord, ConsentStatus, StatusEvent, new_record
from policies.purposes import PurposeTree

T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
DISASTER = "https://w3id.org/tsunagu/vocab/purpose/disaster-response"
C = "did:web:c"
DATASET = "urn:dataset:register"
KEY = SigningKey.generate("did:web:a#key-1")
POLICY = {
    "@type": "Offer",
    "@id": "urn:offer:register",
    "permission": [{"action": "use"}],
    "prohibition": [
        {
            "action": "use",
            "constraint": [
                {
                    "leftOperand": "purpose",
                    "operator": "isNoneOf",
                    "rightOperand": [{"@id": DISASTER}],
                }
            ],
        }
    ],
}
SNAPSHOT = TransferSnapshot(
    transfer_id="urn:uuid:transfer",
    role="provider",
    state="STARTED",
    format="HttpData-PULL",
    counterparty_did=C,
    agreement_id="urn:uuid:agreement",
    dataset_id=DATASET,
    policy=POLICY,
    data_address=None,
    access_expires_at=None,
    accesses=0,
    revoked_at=None,
    revoked_reason=None,
    subject_field="resident_id",
)


@pytest.fixture
def two(migrated_database_url: str) -> Iterator[tuple[ConsentQueries, ConsentQueries]]:
    """Two stores on one database, as two connector processes have."""
    stores = [Store(build_engine(migrated_database_url)) for _ in range(2)]
    yield ConsentQueries(stores[0]), ConsentQueries(stores[1])
    for store in stores:
        store.dispose()


def sign(record: ConsentRecord, event: StatusEvent) -> tuple[str, str]:
    receipt_id = f"urn:uuid:receipt-{record.id}-{len(record.events)}"
    return receipt_id, sign_receipt(KEY, record, event, receipt_id=receipt_id)


def give(queries: ConsentQueries, n: int, **fields: Any) -> ConsentRecord:
    data = {"subject": f"r-{n}", "purposes": [DISASTER], "recipients": [C], **fields}
    record = new_record(
        data, record_id=f"urn:uuid:{n}", controller="did:web:a", now=T0, by="did:web:a",
        method="test",
    )  # fmt: skip
    return queries.give(record, sign, direction="local").record


def gate(queries: ConsentQueries, clock: ManualClock) -> ConsentGate:
    return ConsentGate(queries, clock, purposes=lambda: PurposeTree({}))


def test_a_change_in_another_process_is_seen_by_the_next_access(
    two: tuple[ConsentQueries, ConsentQueries],
) -> None:
    here, there = two
    clock = ManualClock(T0 + timedelta(seconds=1))
    plane = gate(here, clock)
    give(there, 1)
    give(there, 2)
    first = plane.decision(SNAPSHOT)
    assert first is not None and set(first.subjects) == {"r-1", "r-2"}
    assert plane.decision(SNAPSHOT) is first  # nothing changed: the kept answer
    event = StatusEvent(ConsentStatus.WITHDRAWN, T0 + timedelta(seconds=1), "r-1")
    there.change("urn:uuid:1", event, sign, direction="local")
    assert set(plane.subjects(SNAPSHOT)) == {"r-2"}  # the very next access
    give(there, 3)
    assert set(plane.subjects(SNAPSHOT)) == {"r-2", "r-3"}


def test_grants_written_directly_grow_the_version(
    two: tuple[ConsentQueries, ConsentQueries],
) -> None:
    """However a grant is written (here as a bulk import would, without the API), the
    transaction grows the version, so no process keeps an answer that misses it."""
    here, there = two
    clock = ManualClock(T0 + timedelta(seconds=1))
    plane = gate(here, clock)
    give(there, 1)
    assert set(plane.subjects(SNAPSHOT)) == {"r-1"}
    before = there.version()
    with there.store.transaction() as tx:
        tx.add(
            ConsentGrantRow(
                record_id="urn:uuid:1", subject="r-9", purpose=DISASTER, recipient=C,
                valid_from=T0,
            )
        )  # fmt: skip
    assert before is not None and there.version() == before + 1
    assert set(plane.subjects(SNAPSHOT)) == {"r-1", "r-9"}


def test_a_consent_for_a_later_date_joins_when_it_starts(
    two: tuple[ConsentQueries, ConsentQueries],
) -> None:
    here, there = two
    clock = ManualClock(T0 + timedelta(seconds=1))
    plane = gate(here, clock)
    give(there, 1)
    give(there, 2, valid_from=(T0 + timedelta(seconds=10)).isoformat())
    assert set(plane.subjects(SNAPSHOT)) == {"r-1"}
    clock.advance(8)
    assert set(plane.subjects(SNAPSHOT)) == {"r-1"}
    clock.advance(1)
    assert set(plane.subjects(SNAPSHOT)) == {"r-1", "r-2"}


@pytest.mark.anyio
async def test_a_kept_answer_ends_each_cover_on_time(
    two: tuple[ConsentQueries, ConsentQueries],
) -> None:
    here, there = two
    clock = ManualClock(T0 + timedelta(seconds=1))
    plane = gate(here, clock)
    give(there, 1)
    give(there, 2, valid_until=(T0 + timedelta(seconds=5)).isoformat())
    assert (await plane.allowed(SNAPSHOT)).fixed() == {"r-1", "r-2"}
    clock.advance(3)
    assert (await plane.allowed(SNAPSHOT)).fixed() == {"r-1", "r-2"}
    clock.advance(1)  # T0 + 5 s: the end is exclusive
    allowed = await plane.allowed(SNAPSHOT)
    assert allowed.fixed() == {"r-1"}
    assert "r-2" not in allowed


@pytest.mark.anyio
async def test_the_version_read_with_the_snapshot_spares_the_store(
    two: tuple[ConsentQueries, ConsentQueries], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pull hands the gate the consent version its transfer snapshot was read with: while
    the kept answer holds at it, the store is not read at all; any other version reads the
    store again, so a change in another process is seen by the next access."""
    here, there = two
    clock = ManualClock(T0 + timedelta(seconds=1))
    plane = gate(here, clock)
    give(there, 1)
    give(there, 2)
    assert (await plane.allowed(SNAPSHOT)).fixed() == {"r-1", "r-2"}
    version = there.version()
    assert version is not None
    with monkeypatch.context() as patched:
        for name in ("version", "consenting_since"):
            patched.setattr(here, name, lambda **_: pytest.fail("the store was read"))
        assert (await plane.allowed(SNAPSHOT, version=version)).fixed() == {"r-1", "r-2"}
    event = StatusEvent(ConsentStatus.WITHDRAWN, T0 + timedelta(seconds=1), "r-1")
    there.change("urn:uuid:1", event, sign, direction="local")
    assert (await plane.allowed(SNAPSHOT, version=there.version())).fixed() == {"r-2"}
    # a version older than the kept answer's is never taken for it either
    assert (await plane.allowed(SNAPSHOT, version=version)).fixed() == {"r-2"}


def test_a_subject_added_to_a_live_set_makes_a_reread_begun_before_stale() -> None:
    """`ConsentGate.refresh` keeps a re-read only if the set did not change meanwhile: a
    consent given while an older re-read was on its way must not be dropped by it (a live
    stream then stopped carrying a subject who had just consented again)."""
    live = LiveSubjects(cast(Any, None), cast(Any, None), {"r-001": None}, system_clock)
    begun = live.generation
    live.add("r-002", None)
    assert live.generation != begun and "r-002" in live
    begun = live.generation
    live.discard("r-001")
    assert live.generation != begun and "r-001" not in live
