"""The DCAT catalogue as DSP publishes it: catalogues, datasets, distributions, data services.

Deliberately modest: titles and descriptions are plain strings, and only what DSP peers need
to find a dataset, its offers and the endpoint to negotiate at is modelled.
"""

from __future__ import annotations

from dataclasses import dataclass

from catalog.errors import CatalogError
from policies.odrl import Policy

# The serving mode of a distribution, in the shared vocabulary (vocab/data/tsunagu.ttl, the
# `tsu:` namespace): whether reads reach the owner's system or the connector's buffer.
TSU = "https://w3id.org/tsunagu/vocab/"
SERVING_MODE = TSU + "servingMode"
DIRECT = TSU + "direct"
ACCUMULATED = TSU + "accumulated"


@dataclass(frozen=True)
class DataService:
    """A connector endpoint: `endpoint_url` is the DSP `<base>` where negotiations happen."""

    id: str
    endpoint_url: str


@dataclass(frozen=True)
class Distribution:
    """How a dataset is delivered: `format` (e.g. `HttpData-PULL`) via the DataService whose id
    is `access_service`. `service`, when set, is that DataService written inline (as a
    standalone dataset response should, so a consumer learns the endpoint). `serving_mode`
    (`DIRECT`, `ACCUMULATED`, or another connector's IRI; None when not stated) says where
    reads are answered from."""

    format: str
    access_service: str
    service: DataService | None = None
    serving_mode: str | None = None

    def __post_init__(self) -> None:
        if self.service is not None and self.service.id != self.access_service:
            raise CatalogError(
                f"inline service {self.service.id!r} is not accessService {self.access_service!r}",
                code="service_mismatch",
            )


@dataclass(frozen=True)
class Dataset:
    """A dataset on offer. Its offers carry no `target`: the dataset is their target."""

    id: str
    title: str | None = None
    description: str | None = None
    keywords: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    offers: tuple[Policy, ...] = ()
    distributions: tuple[Distribution, ...] = ()

    @property
    def serving_mode(self) -> str | None:
        """The distributions' serving mode when they all state the same one."""
        modes = {d.serving_mode for d in self.distributions}
        return modes.pop() if len(modes) == 1 else None

    def offer(self, uid: str) -> Policy | None:
        """The offer with this `@id`, with the dataset as its target (ready for a request)."""
        for offer in self.offers:
            if offer.uid == uid:
                return offer.with_(target=self.id)
        return None


@dataclass(frozen=True)
class Catalog:
    """A catalogue. The root one names its `participant_id`; nested ones may not."""

    id: str
    participant_id: str | None
    datasets: tuple[Dataset, ...] = ()
    services: tuple[DataService, ...] = ()
    catalogs: tuple[Catalog, ...] = ()
    distributions: tuple[Distribution, ...] = ()
