"""Our catalogue as each requester may see it, and reading a peer's catalogue.

A dataset is on offer once it has an offer. Its DCAT description (published through
`connector.control.publishing`) supplies everything but the offers and the distributions,
which come from the offer rows and the data plane at the moment of serving, so they never go
stale. A description may be restricted to members of some councils (their verified membership
credential says so); to anyone else the dataset does not exist: its GET answers 404 like an
unknown id. Offers may be restricted the same way.

A page costs two queries whatever the catalogue holds (datasets with their descriptions and
visibility; their offers); parsed descriptions are kept in memory by (id, updated_at).
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from catalog.dsp import catalog_to_json, dataset_to_json, parse_catalog, parse_dataset
from catalog.errors import CatalogError
from catalog.filters import CatalogFilter
from catalog.model import Agent, Catalog, DataService, Dataset, Distribution, texts
from connector.control.dispatcher import Dispatcher
from connector.control.peers import Peer
from connector.dataplane.sources import serving_mode
from connector.errors import NotFound, PeerError
from connector.protocol.formats import FORMATS
from connector.store import catalog_queries as q
from connector.store.store import Store
from connector.store.tables import DatasetRow, OfferRow
from policies.odrl import Policy, parse_policy

DEFAULT_PAGE = 100
MAX_PAGE = 1000
_CACHE_SIZE = 20_000


@dataclass(frozen=True)
class Page:
    catalog: Catalog
    offset: int
    limit: int
    more: bool  # a next page exists


def memberships_of(peer: Peer | None) -> list[str]:
    """What a requester is a member of, from its verified credential (none when anonymous)."""
    if peer is None:
        return []
    return [str(m) for m in peer.claims.get("memberships") or ()]


class CatalogService:
    def __init__(
        self,
        store: Store,
        *,
        own_did: str,
        dsp_base: str,
        name: str = "",
        sees: Callable[[Peer, Sequence[Policy]], Sequence[bool]] | None = None,
    ) -> None:
        self.store = store
        self.sees = sees  # per offer: may this requester see it (policy visibility)?
        self.own_did = own_did
        self.dsp_base = dsp_base
        self.name = name or own_did
        self.service = DataService(
            id=f"{own_did}#dsp",
            endpoint_url=dsp_base,
            title=texts({"ja": f"{self.name} コネクタ", "en": f"{self.name} connector"}),
            conforms_to=("https://w3id.org/dspace/2025/1/",),
        )
        self._parsed: OrderedDict[Any, Dataset] = OrderedDict()  # (id, updated_at)
        self._served: OrderedDict[Any, Dataset] = OrderedDict()  # as served, by all it depends on
        self._json: dict[int, tuple[Dataset, dict[str, Any]]] = {}  # id(served) -> its JSON
        self._bytes: dict[int, tuple[Dataset, bytes]] = {}  # id(served) -> its JSON, encoded
        self._offers: OrderedDict[Any, Policy] = OrderedDict()  # parsed offers, by content

    # -- what a requester sees -------------------------------------------------------------

    def catalog(self, peer: Peer | None = None) -> Catalog:
        """The whole catalogue this requester may see."""
        return self.page(peer, limit=None).catalog

    def page(
        self,
        peer: Peer | None,
        *,
        filter: CatalogFilter | None = None,
        offset: int = 0,
        limit: int | None = DEFAULT_PAGE,
        anonymous: bool = False,
    ) -> Page:
        """One page of the catalogue built for `peer`. With a filter, the visible datasets are
        matched in memory (still two queries) and the page is cut from the matches."""
        members = [] if anonymous else memberships_of(peer)
        with self.store.transaction() as tx:
            if filter:
                rows = q.visible_datasets(tx.session, members)
            else:
                fetch = None if limit is None else limit + 1
                rows = q.visible_datasets(tx.session, members, offset=offset, limit=fetch)
            offers = q.offers_of(tx.session, [row.id for row, _ in rows])
            self._load(tx, rows)
        datasets = self._datasets(rows, offers, members, peer=None if anonymous else peer)
        if filter:
            datasets = [d for d in datasets if filter.matches(d)]
            datasets = datasets[offset:]
        more = limit is not None and len(datasets) > limit
        if limit is not None:
            datasets = datasets[:limit]
        return Page(self.shell(tuple(datasets)), offset, limit or len(datasets), more)

    def dataset(self, dataset_id: str, peer: Peer | None = None) -> Dataset:
        """One dataset; hidden from this requester and unknown answer alike."""
        members = memberships_of(peer)
        with self.store.transaction() as tx:
            rows = q.visible_datasets(tx.session, members, dataset_id=dataset_id)
            offers = q.offers_of(tx.session, [dataset_id]) if rows else []
            self._load(tx, rows)
        datasets = self._datasets(rows, offers, members, inline_service=True, peer=peer)
        if not datasets:
            raise NotFound(f"no dataset {dataset_id!r}", code="unknown_dataset")
        return datasets[0]

    def operator_catalog(self) -> Catalog:
        """Every dataset on offer with every offer, whoever may see it (for the operator)."""
        with self.store.transaction() as tx:
            rows = q.visible_datasets(tx.session, None)
            offers = q.offers_of(tx.session, [row.id for row, _ in rows])
            self._load(tx, rows)
        return self.shell(tuple(self._datasets(rows, offers, None)))

    def operator_view(self, dataset_id: str) -> Dataset:
        """The dataset as published, with every offer (for the operator), retired or not: a
        retired dataset's text can still be corrected (agreements made on it go on)."""
        with self.store.transaction() as tx:
            rows = q.visible_datasets(tx.session, None, dataset_id=dataset_id, retired=True)
            offers = q.offers_of(tx.session, [dataset_id]) if rows else []
            self._load(tx, rows)
        datasets = self._datasets(rows, offers, None, inline_service=True)
        if not datasets:
            raise NotFound(f"dataset {dataset_id!r} is not on offer", code="unknown_dataset")
        return datasets[0]

    # -- building ----------------------------------------------------------------------------

    def shell(self, datasets: tuple[Dataset, ...]) -> Catalog:
        return Catalog(
            id=f"{self.own_did}#catalog",
            participant_id=self.own_did,
            datasets=datasets,
            services=(self.service,),
            title=texts({"ja": f"{self.name} データカタログ", "en": f"{self.name} data catalogue"}),
            description=texts(
                {"ja": f"{self.name} が提供するデータ。", "en": f"Data offered by {self.name}."}
            ),
            publisher=Agent(name=texts({"ja": self.name, "en": self.name}), id=self.own_did),
        )

    def _offer_policy(self, offer: OfferRow) -> Policy:
        key = (offer.id, json.dumps(offer.policy, sort_keys=True))
        policy = self._offers.get(key)
        if policy is None:
            policy = self._offers[key] = parse_policy(offer.policy)
            if len(self._offers) > _CACHE_SIZE:
                self._offers.popitem(last=False)
        return policy

    def _load(self, tx: Any, rows: Sequence[tuple[DatasetRow, q.EntryMeta | None]]) -> None:
        """Parse the descriptions not in memory yet (one query for all of them)."""
        missing = [
            row.id
            for row, meta in rows
            if meta is not None and (row.id, meta.updated_at) not in self._parsed
        ]
        for dataset_id, description in q.descriptions(tx.session, missing).items():
            meta = next(m for r, m in rows if r.id == dataset_id)
            assert meta is not None
            self._remember(self._parsed, (dataset_id, meta.updated_at), parse_dataset(description))

    def _datasets(
        self,
        rows: Sequence[tuple[DatasetRow, q.EntryMeta | None]],
        offers: Sequence[OfferRow],
        members: Sequence[str] | None,
        *,
        inline_service: bool = False,
        peer: Peer | None = None,
    ) -> list[Dataset]:
        by_dataset: dict[str, list[OfferRow]] = {}
        for offer in offers:
            by_dataset.setdefault(offer.dataset_id, []).append(offer)
        out = []
        for row, meta in rows:
            audience = meta.offer_audience if meta is not None else {}
            shown = [o for o in by_dataset.get(row.id, []) if _may_see(audience.get(o.id), members)]
            if shown and peer is not None and self.sees is not None:
                verdicts = self.sees(peer, [self._offer_policy(o) for o in shown])
                shown = [o for o, visible in zip(shown, verdicts, strict=True) if visible]
            if not shown:
                continue
            mode = serving_mode(row.data_address)
            # Everything the served dataset depends on: a repeat request costs a dict lookup.
            key = (
                row.id,
                meta.updated_at if meta is not None else None,
                row.title,
                row.description,
                tuple(row.keywords),
                tuple(row.themes),
                tuple((o.id, json.dumps(o.policy, sort_keys=True)) for o in shown),
                mode,
                inline_service,
            )
            served = self._served.get(key)
            if served is None:
                description = (
                    self._parsed.get((row.id, meta.updated_at)) if meta is not None else None
                )
                policies = tuple(parse_policy(o.policy) for o in shown)
                served = self.complete(
                    row, policies, inline_service=inline_service, description=description
                )
                self._remember(self._served, key, served)
            out.append(served)
        return out

    def _remember(self, cache: OrderedDict[Any, Dataset], key: Any, value: Dataset) -> None:
        cache[key] = value
        if len(cache) > _CACHE_SIZE:
            _key, evicted = cache.popitem(last=False)
            self._json.pop(id(evicted), None)
            self._bytes.pop(id(evicted), None)

    # -- DSP JSON ------------------------------------------------------------------------------

    def catalog_json(self, catalog: Catalog) -> dict[str, Any]:
        """`catalog_to_json`, with each served dataset's JSON written once and kept with it."""
        out = catalog_to_json(dataclasses.replace(catalog, datasets=()))
        if catalog.datasets:
            out["dataset"] = [self.dataset_json(d) for d in catalog.datasets]
        return out

    def catalog_bytes(self, catalog: Catalog) -> bytes:
        """`catalog_json` encoded as `encode_json` would, byte for byte, from each served
        dataset's encoding kept with it: a page re-encodes only its shell."""
        out = catalog_to_json(dataclasses.replace(catalog, datasets=()))
        if not catalog.datasets:
            return encode_json(out)
        marker = f"tsunagu-datasets-{uuid.uuid4()}"  # in no description: where the list goes
        out["dataset"] = marker
        shell = encode_json(out)
        spliced = b"[" + b",".join(self.dataset_bytes(d) for d in catalog.datasets) + b"]"
        before, found, after = shell.partition(encode_json(marker))
        assert found, "the marker is in the shell"
        return before + spliced + after

    def dataset_bytes(self, dataset: Dataset) -> bytes:
        found = self._bytes.get(id(dataset))
        if found is None or found[0] is not dataset:
            found = (dataset, encode_json(self.dataset_json(dataset)))
            if len(self._bytes) >= _CACHE_SIZE:
                self._bytes.clear()
            self._bytes[id(dataset)] = found
        return found[1]

    def dataset_json(self, dataset: Dataset) -> dict[str, Any]:
        """The JSON of a dataset this service built (treat it as read-only: it is shared)."""
        found = self._json.get(id(dataset))
        if found is None or found[0] is not dataset:
            found = (dataset, dataset_to_json(dataset, root=False))
            if len(self._json) >= _CACHE_SIZE:  # whole catalogues larger than the cache
                self._json.clear()
            self._json[id(dataset)] = found
        return found[1]

    def complete(
        self,
        row: DatasetRow,
        offers: tuple[Policy, ...],
        *,
        inline_service: bool = False,
        description: Dataset | None = None,
    ) -> Dataset:
        """The dataset as served: its description, our offers, our distributions."""
        described = description
        mode = serving_mode(row.data_address)  # says direct or accumulated, never where
        service = self.service if inline_service else None
        given = {d.format: d for d in described.distributions} if described else {}
        distributions = tuple(
            dataclasses.replace(
                given[f], access_service=self.service.id, service=service, serving_mode=mode
            )
            if f in given
            else Distribution(
                format=f, access_service=self.service.id, service=service, serving_mode=mode
            )
            for f in FORMATS
        )
        if described is None:
            return Dataset(
                id=row.id,
                title=texts(row.title),
                description=texts(row.description),
                keywords=texts(row.keywords),
                themes=tuple(row.themes),
                offers=offers,
                distributions=distributions,
            )
        return dataclasses.replace(described, offers=offers, distributions=distributions)


def encode_json(data: Any) -> bytes:
    """Compact JSON as the catalogue endpoints send it."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def _may_see(audience: Sequence[str] | None, members: Sequence[str] | None) -> bool:
    if not audience or members is None:
        return True
    return any(m in audience for m in members)


async def fetch_catalog(dispatcher: Dispatcher, *, provider_did: str, dsp_base: str) -> Catalog:
    """Ask a provider for its catalogue; the answer must come from the participant we asked."""
    body: dict[str, Any] = {
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "CatalogRequestMessage",
        "filter": [],
    }
    data = await dispatcher.get_json(
        f"{dsp_base.rstrip('/')}/catalog/request", audience=provider_did, body=body
    )
    return checked_catalog(data, provider_did=provider_did, dsp_base=dsp_base)


def checked_catalog(data: object, *, provider_did: str, dsp_base: str) -> Catalog:
    try:
        catalog = parse_catalog(data)
    except CatalogError as exc:
        raise PeerError(
            f"the provider's catalogue is not valid: {exc}", code="invalid_catalog"
        ) from exc
    if catalog.participant_id != provider_did:
        raise PeerError(
            f"the catalogue at {dsp_base} belongs to {catalog.participant_id}, not {provider_did}",
            code="participant_mismatch",
        )
    return catalog


async def fetch_dataset(
    dispatcher: Dispatcher, *, provider_did: str, dsp_base: str, dataset_id: str
) -> Dataset:
    url = f"{dsp_base.rstrip('/')}/catalog/datasets/{quote(dataset_id, safe='')}"
    data = await dispatcher.get_json(url, audience=provider_did)
    try:
        return parse_dataset(data)
    except CatalogError as exc:
        raise PeerError(
            f"the provider's dataset is not valid: {exc}", code="invalid_catalog"
        ) from exc
