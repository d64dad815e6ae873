"""The harvested index's search query against a known index: every hit matches every
condition, pages come in harvest order, the count stops at its cap, and what was removed
is never found (SQLite's trigram-driven query and PostgreSQL's alike)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from connector.store import catalog_queries as q
from connector.store.database import build_engine
from connector.store.store import Store

THEME = "https://w3id.org/tsunagu/vocab/theme/"
PLACE = "http://data.e-stat.go.jp/lod/sac/"
PEER = "did:web:peer.example"
COUNT = 1200


def _entry(i: int) -> q.Harvested:
    title = f"観測所{i} 河川水位" if i % 4 == 0 else f"観測所{i} 雨量"
    return q.Harvested(
        dataset_id=f"urn:d:{i}",
        content_hash=f"{i:064d}",
        title=title,
        title_en=f"Station {i}",
        publisher="ベンチ市",
        search_text=f"{title} station {i} ベンチ市".casefold(),
        period_start=f"{2020 + i % 5}-04-01",
        period_end=None,
        document="{}",
        terms=(
            ("theme", THEME + ("river-water-level" if i % 4 == 0 else "rainfall")),
            ("place", PLACE + f"C{i % 3}"),
            ("publisher", PEER),
        ),
    )


@pytest.fixture
def store(migrated_database_url: str) -> Iterator[Store]:
    engine = build_engine(migrated_database_url)
    s = Store(engine)
    with s.transaction() as tx:
        q.replace_harvest(
            tx.session, PEER, changed=[_entry(i) for i in range(COUNT)], removed=[], held={}
        )
    yield s
    s.dispose()


def _ids(hits: list[Any]) -> list[int]:
    return [int(h.dataset_id.rsplit(":", 1)[1]) for h in hits]


def _expected(test: Callable[[int], bool]) -> list[int]:
    return [i for i in range(COUNT) if test(i)]


@pytest.mark.parametrize(
    ("query", "matches"),
    [
        # a word of 3+ characters (the trigram index) with two facets
        (
            q.SearchQuery(
                words=("河川水位",), themes=(THEME + "river-water-level",), places=(PLACE + "C1",)
            ),
            lambda i: i % 4 == 0 and i % 3 == 1,
        ),
        # a common word, one facet: more hits than the count's cap
        (q.SearchQuery(words=("station",), themes=(THEME + "rainfall",)), lambda i: i % 4 != 0),
        # two characters (no trigram) beside a long word, and a period
        (
            q.SearchQuery(words=("雨量", "観測所1"), end="2021-12-31"),
            lambda i: i % 4 != 0 and f"観測所{i}".startswith("観測所1") and i % 5 in (0, 1),
        ),
        # facets alone
        (q.SearchQuery(places=(PLACE + "C2", PLACE + "C0")), lambda i: i % 3 != 1),
        # a short word and facets of one IRI each (SQLite walks one facet's terms)
        (
            q.SearchQuery(
                words=("水位",), themes=(THEME + "river-water-level",), places=(PLACE + "C1",)
            ),
            lambda i: i % 4 == 0 and i % 3 == 1,
        ),
        # one facet of one IRI, one of two, and a period (needs the dataset row)
        (
            q.SearchQuery(
                themes=(THEME + "rainfall",),
                places=(PLACE + "C2", PLACE + "C0"),
                start="2023-01-01",
            ),
            lambda i: i % 4 != 0 and i % 3 != 1,
        ),
        (q.SearchQuery(places=(PLACE + "C2",)), lambda i: i % 3 == 2),
        # a rare word: one hit
        (q.SearchQuery(words=("観測所1001",)), lambda i: i == 1001),
    ],
)
def test_hits_pages_and_count(
    store: Store, query: q.SearchQuery, matches: Callable[[int], bool]
) -> None:
    expected = _expected(matches)
    with store.transaction() as tx:
        hits, total = q.search(tx.session, query)
        assert _ids(hits) == expected[: query.limit]
        assert total == min(len(expected), q.COUNT_CAP + 1)
        second, _ = q.search(tx.session, dataclasses.replace(query, offset=query.limit))
        assert _ids(second) == expected[query.limit : 2 * query.limit]


def test_removed_entries_are_not_found(store: Store) -> None:
    with store.transaction() as tx:
        held = q.hashes(tx.session, PEER)
        gone = [held[f"urn:d:{i}"][0] for i in range(0, COUNT, 4)]  # every 河川水位
        q.replace_harvest(tx.session, PEER, changed=[], removed=gone, held=held)
    with store.transaction() as tx:
        hits, total = q.search(tx.session, q.SearchQuery(words=("河川水位",)))
        assert (hits, total) == ([], 0)
        hits, total = q.search(tx.session, q.SearchQuery(themes=(THEME + "river-water-level",)))
        assert (hits, total) == ([], 0)
        assert q.search(tx.session, q.SearchQuery(words=("雨量",)))[1] == q.COUNT_CAP + 1
