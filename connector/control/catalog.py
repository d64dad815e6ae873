"""Our catalogue as peers see it, and reading a peer's catalogue."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from catalog.dsp import parse_catalog, parse_dataset
from catalog.errors import CatalogError
from catalog.model import Catalog, DataService, Dataset, Distribution, texts
from connector.control.dispatcher import Dispatcher
from connector.control.peers import Peer
from connector.dataplane.sources import serving_mode
from connector.errors import PeerError
from connector.protocol.formats import FORMATS
from connector.store.store import Store
from connector.store.tables import DatasetRow, OfferRow
from policies.odrl import parse_policy


class CatalogService:
    def __init__(self, store: Store, *, own_did: str, dsp_base: str) -> None:
        self.store = store
        self.own_did = own_did
        self.dsp_base = dsp_base
        self.service = DataService(id=f"{own_did}#dsp", endpoint_url=dsp_base)

    def catalog(self, peer: Peer | None = None) -> Catalog:
        """Every dataset with its offers: two queries whatever the catalogue's size."""
        del peer  # per-requester views arrive with the catalogue issue
        with self.store.transaction() as tx:
            rows = tx.datasets()
            offers = tx.offers()
        by_dataset: dict[str, list[OfferRow]] = {}
        for offer in offers:
            by_dataset.setdefault(offer.dataset_id, []).append(offer)
        datasets = tuple(self._dataset(row, by_dataset.get(row.id, [])) for row in rows)
        datasets = tuple(
            d for d in datasets if d.offers
        )  # a dataset without an offer is not on offer
        return Catalog(
            id=f"{self.own_did}#catalog",
            participant_id=self.own_did,
            datasets=datasets,
            services=(self.service,),
        )

    def dataset(self, dataset_id: str, peer: Peer | None = None) -> Dataset:
        del peer
        with self.store.transaction() as tx:
            row = tx.dataset(dataset_id)
            offers = tx.offers([dataset_id])
        # Standing alone, a dataset carries its DataService inline: that is where to negotiate.
        dataset = self._dataset(row, list(offers), inline_service=True)
        if not dataset.offers:
            raise CatalogError(f"dataset {dataset_id!r} is not on offer", code="not_found")
        return dataset

    def _dataset(
        self, row: DatasetRow, offers: list[OfferRow], *, inline_service: bool = False
    ) -> Dataset:
        service = self.service if inline_service else None
        mode = serving_mode(row.data_address)  # says direct or accumulated, never where
        return Dataset(
            id=row.id,
            title=texts(row.title),
            description=texts(row.description),
            keywords=texts(row.keywords),
            themes=tuple(row.themes),
            offers=tuple(parse_policy(o.policy) for o in offers),
            distributions=tuple(
                Distribution(
                    format=f, access_service=self.service.id, service=service, serving_mode=mode
                )
                for f in FORMATS
            ),
        )


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
