"""The catalogue page costs the same number of SQL statements whatever the catalogue holds:
not one query per dataset, nor per offer (what makes other connectors slow at thousands)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, event

from catalog.dsp import dataset_to_json
from catalog.model import Dataset, Distribution
from connector.control.catalog import CatalogService, encode_json
from connector.control.peers import Peer
from connector.store.catalog_tables import CatalogAudienceRow, CatalogEntryRow
from connector.store.database import build_engine
from connector.store.store import Store
from connector.store.tables import DatasetRow, OfferRow
from policies.odrl import parse_policy

NOW = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
OWN = "did:web:a-city.example"
COUNCIL = "urn:tsunagu:council:test"


@pytest.fixture
def store(migrated_database_url: str) -> Iterator[Store]:
    engine = build_engine(migrated_database_url)
    s = Store(engine)
    yield s
    s.dispose()


def _fill(store: Store, count: int, offers_each: int) -> None:
    with store.transaction() as tx:
        for i in range(count):
            dataset_id = f"urn:d:{i:05d}"
            tx.add(DatasetRow(id=dataset_id, title=f"d{i}", created_at=NOW))
            policies = []
            for k in range(offers_each):
                policy = {
                    "@type": "Offer",
                    "@id": f"urn:o:{i}:{k}",
                    "permission": [{"action": "use"}],
                }
                tx.add(
                    OfferRow(
                        id=f"urn:o:{i}:{k}", dataset_id=dataset_id, policy=policy, created_at=NOW
                    )
                )
                policies.append(parse_policy(policy))
            if i % 2:  # half described, a quarter restricted
                described = Dataset(
                    id=dataset_id,
                    title={"ja": f"データ{i}", "en": f"data {i}"},
                    offers=tuple(policies),
                    distributions=(
                        Distribution(format="HttpData-PULL", access_service=OWN + "#dsp"),
                    ),
                )
                restricted = i % 4 == 1
                tx.add(
                    CatalogEntryRow(
                        dataset_id=dataset_id,
                        description=dataset_to_json(described, root=False),
                        restricted=restricted,
                        updated_at=NOW,
                    )
                )
                if restricted:
                    tx.add(CatalogAudienceRow(dataset_id=dataset_id, membership=COUNCIL))


def _statements(store: Store, action: object) -> int:
    seen: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if (
            not statement.lstrip()
            .upper()
            .startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"))
        ):
            seen.append(statement)

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        action()  # type: ignore[operator]
    finally:
        event.remove(store.engine, "before_cursor_execute", count)
    return len(seen)


@pytest.mark.parametrize("member", [True, False])
def test_page_and_dataset_cost_a_fixed_number_of_statements(store: Store, member: bool) -> None:
    peer = Peer("did:web:c.example", {"memberships": [COUNCIL] if member else []})
    counts = []
    for count, offers_each in ((20, 1), (400, 3)):
        with store.transaction() as tx:  # start each size from an empty catalogue
            for table in (CatalogAudienceRow, CatalogEntryRow, OfferRow, DatasetRow):
                tx.session.execute(delete(table))
        _fill(store, count, offers_each)
        store.caught_up()  # SQLite: the fill's audit entries now, not the sealer's while counting
        service = CatalogService(
            store, own_did=OWN, dsp_base="https://a.example/dsp/2025-1"
        )  # cold caches
        cold = _statements(store, lambda s=service: s.page(peer, limit=100))
        warm = _statements(store, lambda s=service: s.page(peer, limit=100))
        fresh = CatalogService(store, own_did=OWN, dsp_base="https://a.example/dsp/2025-1")
        whole = _statements(store, lambda s=fresh: s.page(peer, limit=None))  # cold too
        one = _statements(store, lambda s=service: s.dataset("urn:d:00003", peer))
        page = service.page(peer, limit=100)
        assert len(page.catalog.datasets) == (20 if member else 15) if count == 20 else 100
        assert all(len(d.offers) == offers_each for d in page.catalog.datasets)
        counts.append((cold, warm, whole, one))
    assert counts[0] == counts[1], counts
    assert max(counts[0]) <= 3


def test_a_page_is_encoded_as_its_json_byte_for_byte(store: Store) -> None:
    """Pages are spliced from each dataset's kept encoding: the bytes must be exactly those
    of the page's JSON, cold or warm, full or empty, whoever asks."""
    _fill(store, 30, 2)
    service = CatalogService(store, own_did=OWN, dsp_base="https://a.example/dsp/2025-1")
    for peer in (
        Peer("did:web:c.example", {"memberships": [COUNCIL]}),
        Peer("did:web:d.example", {}),
    ):
        for offset in (0, 10, 0, 1000):  # cold, another page, warm, past the end
            catalog = service.page(peer, offset=offset, limit=10).catalog
            expected = encode_json(service.catalog_json(catalog))
            assert service.catalog_bytes(catalog) == expected
            assert json.loads(expected)["dataset" if catalog.datasets else "@id"]
