"""The catalogue as full DCAT 3 RDF (Turtle, JSON-LD, RDF/XML), and reading it back.

`to_graph` writes everything the model holds, plus what DCAT-AP's range shapes need to see
without inference: the class of every referenced resource (a theme is a `skos:Concept` with
its labels from the vocabulary, a municipality a `dct:Location`, a licence a
`dct:LicenseDocument`, ...). `from_graph` reads the model back and ignores those derived
triples, so graph -> model -> graph is isomorphic.

`from_graph` (in `catalog.rdf_reading`, re-exported here) is also how portal files (CKAN's
ckanext-dcat and the like) are read: see `catalog.portal` for the lenient entry point.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterable
from importlib import resources
from typing import Any

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD
from rdflib.term import IdentifiedNode, Node

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
    Text,
    Texts,
)
from catalog.namespaces import (
    DCAT,
    DCT,
    DSPACE,
    FOAF,
    ODRL,
    PREFIXES,
    QUDT,
    SKOS,
    SOSA,
    TSU,
    VCARD,
    media_type_iri,
    transfer_format_iri,
)
from catalog.offers import add_policy
from catalog.rdf_reading import from_graph, read_datasets  # reading, re-exported
from policies.odrl import Policy

FORMATS: dict[str, str] = {
    "turtle": "text/turtle",
    "json-ld": "application/ld+json",
    "xml": "application/rdf+xml",
}
"""rdflib format name -> media type, for the three serialisations offered."""

CONTEXT_IRI = "https://w3id.org/tsunagu/catalog/context.jsonld"
"""The JSON-LD context tsunagu writes (package data, inlined: nothing to fetch)."""

Labels = Callable[[str], Texts]
"""IRI -> its labels (for themes, basins and concept schemes); () when unknown."""


def _u(namespace: str, local: str) -> URIRef:
    return URIRef(namespace + local)


def vocabulary_labels() -> Labels:
    """Labels from the shared vocabulary (skos:prefLabel in ja and en)."""
    from vocab.vocabulary import load_vocabulary

    vocabulary = load_vocabulary()

    def labels(iri: str) -> Texts:
        found = [(lang, vocabulary.label(iri, lang)) for lang in ("ja", "en")]
        return tuple(Text(value, lang) for lang, value in found if value)

    return labels


def new_graph() -> Graph:
    graph = Graph()
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace, override=True, replace=True)
    return graph


# -- writing ----------------------------------------------------------------------------------


class _Writer:
    def __init__(self, graph: Graph, labels: Labels) -> None:
        self.g = graph
        self.labels = labels
        self.services: dict[str, DataService] = {}
        self.policies: dict[str, Policy] = {}

    def add(self, s: Node, p: URIRef, o: Node) -> None:
        self.g.add((s, p, o))

    def typed(self, iri: str, *classes: URIRef) -> URIRef:
        node = URIRef(iri)
        for klass in classes:
            self.add(node, RDF.type, klass)
        return node

    def texts(self, node: Node, predicate: URIRef, values: Texts) -> None:
        for text in values:
            self.add(node, predicate, Literal(text.value, lang=text.language))

    def instant(self, node: Node, predicate: URIRef, value: Instant | None) -> None:
        if value is not None:
            self.add(node, predicate, Literal(value))

    def refs(self, node: Node, predicate: URIRef, iris: Iterable[str], *classes: URIRef) -> None:
        for iri in iris:
            self.add(node, predicate, self.typed(iri, *classes))

    def concept(self, iri: str) -> URIRef:
        node = self.typed(iri, _u(SKOS, "Concept"))
        self.texts(node, _u(SKOS, "prefLabel"), self.labels(iri))
        return node

    def catalog(self, catalog: Catalog) -> URIRef:
        node = self.typed(catalog.id, _u(DCAT, "Catalog"))
        for service in catalog.services:
            self.services[service.id] = service
        if catalog.participant_id:
            self.add(node, _u(DSPACE, "participantId"), URIRef(catalog.participant_id))
        self.texts(node, _u(DCT, "title"), catalog.title)
        self.texts(node, _u(DCT, "description"), catalog.description)
        if catalog.publisher is not None:
            self.add(node, _u(DCT, "publisher"), self.agent(catalog.publisher))
        if catalog.homepage:
            self.add(node, _u(FOAF, "homepage"), self.typed(catalog.homepage, _u(FOAF, "Document")))
        self.refs(node, _u(DCT, "language"), catalog.languages, _u(DCT, "LinguisticSystem"))
        self.instant(node, _u(DCT, "issued"), catalog.issued)
        self.instant(node, _u(DCT, "modified"), catalog.modified)
        if catalog.license:
            self.add(node, _u(DCT, "license"), self.licence(catalog.license))
        self.refs(node, _u(DCT, "spatial"), catalog.spatial, _u(DCT, "Location"))
        for scheme in catalog.theme_taxonomies:
            taxonomy = self.typed(scheme, _u(SKOS, "ConceptScheme"))
            self.texts(taxonomy, _u(DCT, "title"), self.labels(scheme))
            self.add(node, _u(DCAT, "themeTaxonomy"), taxonomy)
        for service in catalog.services:
            self.add(node, _u(DCAT, "service"), self.service(service))
        for series in catalog.series:
            self.add(node, _u(DCAT, "dataset"), self.series(series))
        for dataset in catalog.datasets:
            self.add(node, _u(DCAT, "dataset"), self.dataset(dataset))
        for child in catalog.catalogs:
            self.add(node, _u(DCAT, "catalog"), self.catalog(child))
        for distribution in catalog.distributions:
            self.add(node, _u(DCAT, "distribution"), self.distribution(distribution))
        return node

    def licence(self, iri: str) -> URIRef:
        return self.typed(iri, _u(DCT, "LicenseDocument"))

    def agent(self, agent: Agent) -> IdentifiedNode:
        node: IdentifiedNode = URIRef(agent.id) if agent.id else BNode()
        self.add(node, RDF.type, _u(FOAF, "Agent"))
        self.add(node, RDF.type, _u(FOAF, "Organization"))
        self.texts(node, _u(FOAF, "name"), agent.name)
        if agent.identifier:
            self.add(node, _u(DCT, "identifier"), Literal(agent.identifier))
        if agent.homepage:
            self.add(node, _u(FOAF, "homepage"), self.typed(agent.homepage, _u(FOAF, "Document")))
        return node

    def contact(self, contact: ContactPoint) -> IdentifiedNode:
        node: IdentifiedNode = URIRef(contact.id) if contact.id else BNode()
        self.add(node, RDF.type, _u(VCARD, "Kind"))
        self.add(node, RDF.type, _u(VCARD, "Organization"))
        self.texts(node, _u(VCARD, "fn"), contact.name)
        if contact.email:
            self.add(node, _u(VCARD, "hasEmail"), URIRef("mailto:" + contact.email))
        if contact.telephone:
            self.add(node, _u(VCARD, "hasTelephone"), URIRef("tel:" + contact.telephone))
        if contact.url:
            self.add(node, _u(VCARD, "hasURL"), URIRef(contact.url))
        return node

    def described(self, node: URIRef, entry: Dataset | DatasetSeries) -> None:
        self.texts(node, _u(DCT, "title"), entry.title)
        self.texts(node, _u(DCT, "description"), entry.description)
        self.texts(node, _u(DCAT, "keyword"), entry.keywords)
        for theme in entry.themes:
            self.add(node, _u(DCAT, "theme"), self.concept(theme))
        self.refs(node, _u(DCT, "spatial"), entry.spatial, _u(DCT, "Location"))
        if entry.temporal is not None:
            period = BNode()
            self.add(period, RDF.type, _u(DCT, "PeriodOfTime"))
            self.instant(period, _u(DCAT, "startDate"), entry.temporal.start)
            self.instant(period, _u(DCAT, "endDate"), entry.temporal.end)
            self.add(node, _u(DCT, "temporal"), period)
        if entry.accrual_periodicity:
            frequency = self.typed(entry.accrual_periodicity, _u(DCT, "Frequency"))
            self.add(node, _u(DCT, "accrualPeriodicity"), frequency)
        if entry.publisher is not None:
            self.add(node, _u(DCT, "publisher"), self.agent(entry.publisher))
        if entry.contact_point is not None:
            self.add(node, _u(DCAT, "contactPoint"), self.contact(entry.contact_point))
        if entry.license:
            self.add(node, _u(DCT, "license"), self.licence(entry.license))
        self.instant(node, _u(DCT, "issued"), entry.issued)
        self.instant(node, _u(DCT, "modified"), entry.modified)

    def series(self, series: DatasetSeries) -> URIRef:
        # A series is a dataset (DCAT 3), and DCAT-AP checks catalogue members for that class.
        node = self.typed(series.id, _u(DCAT, "DatasetSeries"), _u(DCAT, "Dataset"))
        self.described(node, series)
        return node

    def dataset(self, dataset: Dataset) -> URIRef:
        node = self.typed(dataset.id, _u(DCAT, "Dataset"))
        self.described(node, dataset)
        self.refs(node, _u(DCT, "conformsTo"), dataset.conforms_to, _u(DCT, "Standard"))
        for measure in dataset.measures:
            blank = BNode()
            self.add(blank, _u(SOSA, "observedProperty"), URIRef(measure.property))
            self.add(blank, _u(QUDT, "hasUnit"), URIRef(measure.unit))
            self.add(node, _u(TSU, "measures"), blank)
        if dataset.temporal_resolution:
            resolution = Literal(dataset.temporal_resolution, datatype=XSD.duration)
            self.add(node, _u(DCAT, "temporalResolution"), resolution)
        self.refs(node, _u(DCAT, "inSeries"), dataset.in_series)
        if dataset.landing_page:
            page = self.typed(dataset.landing_page, _u(FOAF, "Document"))
            self.add(node, _u(DCAT, "landingPage"), page)
        for offer in dataset.offers:
            self.add(node, _u(ODRL, "hasPolicy"), self.policy(offer))
        for distribution in dataset.distributions:
            self.add(node, _u(DCAT, "distribution"), self.distribution(distribution))
        return node

    def policy(self, offer: Policy) -> URIRef:
        # An offer's IRI names one set of terms: datasets may share it, but not change it.
        known = self.policies.get(offer.uid)
        if known is None:
            self.policies[offer.uid] = offer
            return add_policy(self.g, offer)
        if known != offer:
            raise CatalogError(
                f"offer {offer.uid!r} is given with different terms on two datasets",
                code="offer_id_reused",
            )
        return URIRef(offer.uid)

    def distribution(self, distribution: Distribution) -> IdentifiedNode:
        node: IdentifiedNode = URIRef(distribution.id) if distribution.id else BNode()
        self.add(node, RDF.type, _u(DCAT, "Distribution"))
        if distribution.format:
            form = self.typed(
                transfer_format_iri(distribution.format), _u(DCT, "MediaTypeOrExtent")
            )
            self.add(node, _u(DCT, "format"), form)
        service = distribution.service
        if distribution.access_service:
            if service is not None:
                self.service(service)
            service = service or self.services.get(distribution.access_service)
            self.add(node, _u(DCAT, "accessService"), URIRef(distribution.access_service))
        # DCAT-AP requires an access URL: the service's endpoint is where access starts.
        access = distribution.access_url or (service.endpoint_url if service else None)
        if access:
            self.add(node, _u(DCAT, "accessURL"), URIRef(access))
        if distribution.download_url:
            self.add(node, _u(DCAT, "downloadURL"), URIRef(distribution.download_url))
        if distribution.serving_mode:
            self.add(node, URIRef(TSU + "servingMode"), URIRef(distribution.serving_mode))
        self.texts(node, _u(DCT, "title"), distribution.title)
        self.texts(node, _u(DCT, "description"), distribution.description)
        if distribution.media_type:
            media = self.typed(media_type_iri(distribution.media_type), _u(DCT, "MediaType"))
            self.add(node, _u(DCAT, "mediaType"), media)
        if distribution.license:
            self.add(node, _u(DCT, "license"), self.licence(distribution.license))
        self.refs(node, _u(DCT, "conformsTo"), distribution.conforms_to, _u(DCT, "Standard"))
        return node

    def service(self, service: DataService) -> URIRef:
        node = self.typed(service.id, _u(DCAT, "DataService"))
        self.add(node, _u(DCAT, "endpointURL"), URIRef(service.endpoint_url))
        self.texts(node, _u(DCT, "title"), service.title)
        self.texts(node, _u(DCT, "description"), service.description)
        if service.endpoint_description:
            self.add(node, _u(DCAT, "endpointDescription"), URIRef(service.endpoint_description))
        self.refs(node, _u(DCT, "conformsTo"), service.conforms_to, _u(DCT, "Standard"))
        for dataset in service.serves_datasets:
            self.add(node, _u(DCAT, "servesDataset"), URIRef(dataset))
        return node


def to_graph(catalog: Catalog, *, labels: Labels | None = None) -> Graph:
    """The catalogue as DCAT 3 RDF. `labels` names themes and schemes (default: vocabulary)."""
    graph = new_graph()
    _Writer(graph, labels or vocabulary_labels()).catalog(catalog)
    return graph


def serialise(catalog: Catalog | Graph, rdf_format: str = "turtle") -> str:
    """Turtle, JSON-LD (with tsunagu's context inlined) or RDF/XML text."""
    if rdf_format not in FORMATS:
        raise CatalogError(
            f"unknown RDF format {rdf_format!r}; use one of {', '.join(FORMATS)}",
            code="unknown_format",
        )
    graph = catalog if isinstance(catalog, Graph) else to_graph(catalog)
    if rdf_format == "json-ld":
        return graph.serialize(format="json-ld", context=pinned_context(), indent=2)
    return graph.serialize(format=rdf_format)


def pinned_context() -> dict[str, Any]:
    """tsunagu's catalogue JSON-LD context: prefixes only (package data)."""
    text = resources.files("catalog.data").joinpath("context.jsonld").read_text("utf-8")
    context: dict[str, Any] = json.loads(text)["@context"]
    return context


def parse_graph(text: str | bytes, rdf_format: str) -> Graph:
    """Parse RDF text; JSON-LD may name only tsunagu's pinned context (nothing is fetched)."""
    if rdf_format not in FORMATS:
        raise CatalogError(f"unknown RDF format {rdf_format!r}", code="unknown_format")
    graph = new_graph()
    try:
        if rdf_format == "json-ld":
            document = _inline_contexts(json.loads(text))
            with warnings.catch_warnings():
                # rdflib 7's JSON-LD parser uses its own deprecated ConjunctiveGraph API.
                warnings.filterwarnings(
                    "ignore", "(ConjunctiveGraph|Dataset.default_context)", DeprecationWarning
                )
                graph.parse(data=json.dumps(document), format="json-ld")
        else:
            graph.parse(data=text, format=rdf_format)
    except CatalogError:
        raise
    except Exception as exc:  # rdflib's parsers raise many unrelated types on bad input
        raise CatalogError(f"not valid {rdf_format}: {exc}", code="invalid_rdf") from exc
    return graph


def _inline_contexts(node: Any) -> Any:
    if isinstance(node, list):
        return [_inline_contexts(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        out[key] = _inline_context(value) if key == "@context" else _inline_contexts(value)
    return out


def _inline_context(value: Any) -> Any:
    if isinstance(value, list):
        return [_inline_context(item) for item in value]
    if isinstance(value, str):
        if value == CONTEXT_IRI:
            return pinned_context()
        raise CatalogError(
            f"JSON-LD context {value} is not pinned; tsunagu does not fetch contexts",
            code="context_not_pinned",
        )
    if isinstance(value, dict) and "@import" in value:
        raise CatalogError("@import in a JSON-LD context is not supported", code="context_import")
    return value


def parse(text: str | bytes, rdf_format: str = "turtle") -> Catalog:
    """A catalogue from RDF text (the one `dcat:Catalog` in it)."""
    return from_graph(parse_graph(text, rdf_format))


__all__ = [
    "CONTEXT_IRI",
    "FORMATS",
    "Labels",
    "from_graph",
    "new_graph",
    "parse",
    "parse_graph",
    "pinned_context",
    "read_datasets",
    "serialise",
    "to_graph",
    "vocabulary_labels",
]
