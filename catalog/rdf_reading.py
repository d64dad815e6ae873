"""Reading DCAT RDF back into the model (`catalog.rdf` writes it).

The derived triples the writer adds for DCAT-AP's range shapes (classes of referenced
resources, vocabulary labels) are ignored, so graph -> model -> graph is isomorphic. Portal
files (CKAN's ckanext-dcat and the like) are read here too: see `catalog.portal`.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF
from rdflib.term import Node

from catalog.errors import CatalogError
from catalog.model import (
    Agent,
    Catalog,
    ContactPoint,
    DataService,
    Dataset,
    DatasetSeries,
    Distribution,
    Instant,
    Measure,
    PeriodOfTime,
    Text,
    Texts,
    parse_instant,
)
from catalog.namespaces import (
    DCAT,
    DCT,
    DSPACE,
    FOAF,
    LOCN,
    ODRL,
    QUDT,
    SCHEMA,
    SOSA,
    TSU,
    VCARD,
    media_type_token,
    transfer_format_token,
)
from catalog.offers import read_policy


def _u(namespace: str, local: str) -> URIRef:
    return URIRef(namespace + local)


# -- reading ----------------------------------------------------------------------------------


class _Reader:
    def __init__(self, graph: Graph) -> None:
        self.g = graph

    def one(self, node: Node, predicate: URIRef) -> Node | None:
        return self.g.value(node, predicate)

    def objects(self, node: Node, predicate: URIRef) -> list[Node]:
        return sorted(self.g.objects(node, predicate), key=str)

    def iri(self, node: Node, predicate: URIRef) -> str | None:
        value = self.one(node, predicate)
        if value is None:
            return None
        if isinstance(value, Literal):  # portals sometimes write URLs as literals
            return str(value).strip() or None
        return str(value) if isinstance(value, URIRef) else None

    def iris(self, node: Node, predicate: URIRef) -> tuple[str, ...]:
        return tuple(
            str(v).strip()
            for v in self.objects(node, predicate)
            if isinstance(v, URIRef | Literal) and str(v).strip()
        )

    def texts(self, node: Node, predicate: URIRef) -> Texts:
        values = [v for v in self.g.objects(node, predicate) if isinstance(v, Literal)]
        values.sort(key=lambda v: (v.language or "", str(v)))
        return tuple(Text(str(v), v.language or None) for v in values)

    def instant(self, node: Node, *predicates: URIRef) -> Instant | None:
        for predicate in predicates:
            value = self.one(node, predicate)
            if isinstance(value, Literal):
                python = value.toPython()
                if isinstance(python, date | datetime):
                    return python
                return parse_instant(str(value), f"{node} {predicate}")
        return None

    def catalog(self, node: Node) -> Catalog:
        datasets, series = [], []
        for member in self.objects(node, _u(DCAT, "dataset")):
            if (member, RDF.type, _u(DCAT, "DatasetSeries")) in self.g:
                series.append(self.series(member))
            else:
                datasets.append(self.dataset(member))
        services = [self.service(s) for s in self.objects(node, _u(DCAT, "service"))]
        listed = {s.id for s in services}
        publisher = self.one(node, _u(DCT, "publisher"))
        return Catalog(
            id=str(node),
            participant_id=self.iri(node, _u(DSPACE, "participantId")),
            title=self.texts(node, _u(DCT, "title")),
            description=self.texts(node, _u(DCT, "description")),
            publisher=None if publisher is None else self.agent(publisher),
            homepage=self.iri(node, _u(FOAF, "homepage")),
            languages=self.iris(node, _u(DCT, "language")),
            issued=self.instant(node, _u(DCT, "issued")),
            modified=self.instant(node, _u(DCT, "modified")),
            license=self.iri(node, _u(DCT, "license")),
            spatial=self.iris(node, _u(DCT, "spatial")),
            theme_taxonomies=self.iris(node, _u(DCAT, "themeTaxonomy")),
            services=tuple(services),
            series=tuple(series),
            datasets=tuple(self.with_inline_services(d, listed) for d in datasets),
            catalogs=tuple(self.catalog(c) for c in self.objects(node, _u(DCAT, "catalog"))),
            distributions=tuple(
                self.distribution(d, listed) for d in self.objects(node, _u(DCAT, "distribution"))
            ),
        )

    def with_inline_services(self, dataset: Dataset, listed: set[str]) -> Dataset:
        if all(d.service is None or d.access_service not in listed for d in dataset.distributions):
            return dataset
        return dataclasses.replace(
            dataset,
            distributions=tuple(
                dataclasses.replace(d, service=None) if d.access_service in listed else d
                for d in dataset.distributions
            ),
        )

    def agent(self, node: Node) -> Agent:
        return Agent(
            id=str(node) if isinstance(node, URIRef) else None,
            name=self.texts(node, _u(FOAF, "name")),
            identifier=self.iri(node, _u(DCT, "identifier")),
            homepage=self.iri(node, _u(FOAF, "homepage")),
        )

    def contact(self, node: Node) -> ContactPoint:
        email = self.iri(node, _u(VCARD, "hasEmail"))
        telephone = self.iri(node, _u(VCARD, "hasTelephone"))
        return ContactPoint(
            id=str(node) if isinstance(node, URIRef) else None,
            name=self.texts(node, _u(VCARD, "fn"))
            or self.texts(node, _u(VCARD, "organization-name")),
            email=email.removeprefix("mailto:") if email else None,
            telephone=telephone.removeprefix("tel:") if telephone else None,
            url=self.iri(node, _u(VCARD, "hasURL")),
        )

    def period(self, node: Node) -> PeriodOfTime | None:
        start = self.instant(node, _u(DCAT, "startDate"), _u(SCHEMA, "startDate"))
        end = self.instant(node, _u(DCAT, "endDate"), _u(SCHEMA, "endDate"))
        return None if start is None and end is None else PeriodOfTime(start=start, end=end)

    def described(self, node: Node) -> dict[str, Any]:
        publisher = self.one(node, _u(DCT, "publisher"))
        contact = self.one(node, _u(DCAT, "contactPoint"))
        temporal = self.one(node, _u(DCT, "temporal"))
        return {
            "id": str(node),
            "title": self.texts(node, _u(DCT, "title")),
            "description": self.texts(node, _u(DCT, "description")),
            "keywords": self.texts(node, _u(DCAT, "keyword")),
            "themes": self.iris(node, _u(DCAT, "theme")),
            "spatial": tuple(
                str(s) for s in self.objects(node, _u(DCT, "spatial")) if isinstance(s, URIRef)
            ),
            "temporal": None if temporal is None else self.period(temporal),
            "accrual_periodicity": self.iri(node, _u(DCT, "accrualPeriodicity")),
            "publisher": None if publisher is None else self.agent(publisher),
            "contact_point": None if contact is None else self.contact(contact),
            "license": self.iri(node, _u(DCT, "license")),
            "issued": self.instant(node, _u(DCT, "issued")),
            "modified": self.instant(node, _u(DCT, "modified")),
        }

    def series(self, node: Node) -> DatasetSeries:
        return DatasetSeries(**self.described(node))

    def dataset(self, node: Node) -> Dataset:
        what = f"dataset <{node}>"
        measures = []
        for blank in self.objects(node, _u(TSU, "measures")):
            prop = self.iri(blank, _u(SOSA, "observedProperty"))
            unit = self.iri(blank, _u(QUDT, "hasUnit"))
            if prop is None or unit is None:
                raise CatalogError(
                    f"{what}: a measure needs a property and a unit", code="invalid_field"
                )
            measures.append(Measure(property=prop, unit=unit))
        resolution = self.one(node, _u(DCAT, "temporalResolution"))
        return Dataset(
            **self.described(node),
            conforms_to=self.iris(node, _u(DCT, "conformsTo")),
            measures=tuple(measures),
            temporal_resolution=None if resolution is None else str(resolution),
            in_series=self.iris(node, _u(DCAT, "inSeries")),
            landing_page=self.iri(node, _u(DCAT, "landingPage")),
            offers=tuple(
                read_policy(self.g, p, f"{what} offer")
                for p in self.objects(node, _u(ODRL, "hasPolicy"))
            ),
            distributions=tuple(
                self.distribution(d, set()) for d in self.objects(node, _u(DCAT, "distribution"))
            ),
        )

    def distribution(self, node: Node, listed: set[str]) -> Distribution:
        access_service = self.iri(node, _u(DCAT, "accessService"))
        service = None
        if access_service and access_service not in listed:
            if self.one(URIRef(access_service), _u(DCAT, "endpointURL")) is not None:
                service = self.service(URIRef(access_service))
        form = self.one(node, _u(DCT, "format"))
        media = self.iri(node, _u(DCAT, "mediaType"))
        access_url = self.iri(node, _u(DCAT, "accessURL"))
        if service is not None and access_url == service.endpoint_url:
            access_url = None  # the writer derives it from the service again
        elif service is None and access_service and access_url:
            access_url = None if access_url == self._endpoint(access_service) else access_url
        return Distribution(
            id=str(node) if isinstance(node, URIRef) else None,
            format=None if form is None else transfer_format_token(self._format(form)),
            access_service=access_service,
            service=service,
            serving_mode=self.iri(node, URIRef(TSU + "servingMode")),
            title=self.texts(node, _u(DCT, "title")),
            description=self.texts(node, _u(DCT, "description")),
            media_type=None if media is None else media_type_token(media),
            access_url=access_url,
            download_url=self.iri(node, _u(DCAT, "downloadURL")),
            license=self.iri(node, _u(DCT, "license")),
            conforms_to=self.iris(node, _u(DCT, "conformsTo")),
        )

    def _endpoint(self, service: str) -> str | None:
        return self.iri(URIRef(service), _u(DCAT, "endpointURL"))

    def _format(self, node: Node) -> str:
        if isinstance(node, BNode):  # ckanext-dcat may write [ a dct:IMT ; rdf:value "CSV" ]
            value = self.one(node, RDF.value) or self.one(node, _u(LOCN, "label"))
            return "" if value is None else str(value)
        return str(node)

    def service(self, node: Node) -> DataService:
        url = self.iri(node, _u(DCAT, "endpointURL"))
        if url is None:
            raise CatalogError(
                f"data service <{node}> has no dcat:endpointURL", code="missing_field"
            )
        return DataService(
            id=str(node),
            endpoint_url=url,
            title=self.texts(node, _u(DCT, "title")),
            description=self.texts(node, _u(DCT, "description")),
            endpoint_description=self.iri(node, _u(DCAT, "endpointDescription")),
            conforms_to=self.iris(node, _u(DCT, "conformsTo")),
            serves_datasets=self.iris(node, _u(DCAT, "servesDataset")),
        )


def from_graph(graph: Graph, catalog_id: str | None = None) -> Catalog:
    """The catalogue in `graph`: the one named, or the only root `dcat:Catalog`."""
    reader = _Reader(graph)
    if catalog_id is not None:
        return reader.catalog(URIRef(catalog_id))
    catalogs = set(graph.subjects(RDF.type, _u(DCAT, "Catalog")))
    nested = set(graph.objects(None, _u(DCAT, "catalog")))
    roots = sorted(catalogs - nested, key=str)
    if len(roots) != 1:
        raise CatalogError(
            f"expected one root dcat:Catalog, found {len(roots)}", code="no_single_catalog"
        )
    return reader.catalog(roots[0])


def read_datasets(graph: Graph) -> tuple[Dataset, ...]:
    """Every `dcat:Dataset` of the graph that is not a series, wherever it sits."""
    reader = _Reader(graph)
    series = set(graph.subjects(RDF.type, _u(DCAT, "DatasetSeries")))
    found = sorted(set(graph.subjects(RDF.type, _u(DCAT, "Dataset"))) - series, key=str)
    return tuple(reader.dataset(d) for d in found)
