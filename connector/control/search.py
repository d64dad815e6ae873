"""Searching the federated catalogue: what the operator types, turned into one indexed query.

Text is split on white space into words that must all occur (substrings, so 水位 finds
河川水位 without spaces); themes widen to narrower concepts, `near` to what lies upstream.
Each hit names the owner's connector, so the user can negotiate right away.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from catalog.filters import fold
from catalog.terms import resolve_place, resolve_theme
from catalog.widening import upstream_of, with_narrower
from connector.store import catalog_queries as q
from connector.store.store import Store

MAX_RESULTS = 500


@dataclass(frozen=True)
class SearchRequest:
    text: str = ""
    themes: Sequence[str] = ()
    places: Sequence[str] = ()  # exactly these places (and basins: their municipalities)
    near: Sequence[str] = ()  # these places and what lies upstream
    publishers: Sequence[str] = ()
    formats: Sequence[str] = ()
    start: str | None = None
    end: str | None = None
    limit: int = 50
    offset: int = 0


def compile_query(request: SearchRequest) -> q.SearchQuery:
    """Resolve names through the vocabulary (unknown ones are errors) and widen them."""
    themes: dict[str, None] = {}
    for written in request.themes:
        themes.update(dict.fromkeys(_theme(written)))
    places: dict[str, None] = {}
    for written in request.places:
        places.update(dict.fromkeys(_place(written, near=False)))
    for written in request.near:
        places.update(dict.fromkeys(_place(written, near=True)))
    return q.SearchQuery(
        words=tuple(fold(w) for w in request.text.split() if w),
        themes=tuple(themes),
        places=tuple(places),
        publishers=tuple(request.publishers),
        formats=tuple(request.formats),
        start=request.start,
        end=request.end,
        limit=max(1, min(request.limit, MAX_RESULTS)),
        offset=max(0, request.offset),
    )


# The shipped vocabulary does not change while we run, and walking its graph costs more than
# the indexed query: what a written theme or place widens to is worked out once. (Unknown
# names raise, and errors are not cached.)
@functools.lru_cache(maxsize=4096)
def _theme(written: str) -> tuple[str, ...]:
    return with_narrower(resolve_theme(written))


@functools.lru_cache(maxsize=4096)
def _place(written: str, *, near: bool) -> tuple[str, ...]:
    iri = resolve_place(written)
    return upstream_of(iri) if near or _is_basin(iri) else (iri,)


def _is_basin(iri: str) -> bool:
    return iri.startswith("https://w3id.org/tsunagu/vocab/basin/")


class CatalogSearch:
    def __init__(self, store: Store) -> None:
        self.store = store

    def search(self, request: SearchRequest) -> dict[str, Any]:
        query = compile_query(request)
        with self.store.transaction() as tx:
            hits, total = q.search(tx.session, query)
            addresses = q.addresses(tx.session, sorted({h.peer_did for h in hits}))
        return {
            "total": total,  # COUNT_CAP + 1 means "more than COUNT_CAP"
            "cap": q.COUNT_CAP,
            "offset": query.offset,
            "hits": [
                {
                    "dataset": h.dataset_id,
                    "title": h.title,
                    "title_en": h.title_en,
                    "publisher": h.publisher,
                    "provider": h.peer_did,
                    "provider_address": addresses.get(h.peer_did),
                    "themes": _refs(_loaded(h.themes)),
                    "places": _refs(_loaded(h.places)),
                    "period": [h.period_start, h.period_end],
                    "negotiate": {"provider": h.peer_did, "dataset": h.dataset_id},
                }
                for h in hits
            ],
        }


def _loaded(member: str | None) -> Any:
    return None if member is None else json.loads(member)


def _refs(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value] if value else []
    return [i["@id"] if isinstance(i, dict) and "@id" in i else str(i) for i in items]
