"""Reading DCAT-AP files as open-data portals publish them (CKAN's ckanext-dcat and others).

Portals write the same DCAT with looser habits, all of which `catalog.rdf.from_graph` reads:
`dct:format` as a literal (`"CSV"`) or a blank node with `rdf:value`, `dcat:mediaType` as a
literal, URLs as literals, `schema:startDate` in periods, `vcard:organization-name`, places as
geometry blank nodes (dropped: tsunagu's places are IRIs). A portal file may hold datasets
without a `dcat:Catalog` around them; they are gathered into one catalogue.

What is read is a description, not an offer: portal datasets have no ODRL offers, and their
themes are usually the EU data-theme table. Run `catalog.terms.check_terms` and add offers
before publishing them through DSP.
"""

from __future__ import annotations

from rdflib import URIRef
from rdflib.namespace import RDF

from catalog.errors import CatalogError
from catalog.model import Catalog
from catalog.namespaces import DCAT
from catalog.rdf import from_graph, parse_graph, read_datasets

MEDIA_TYPES = {
    "text/turtle": "turtle",
    "application/x-turtle": "turtle",
    "application/rdf+xml": "xml",
    "application/ld+json": "json-ld",
    "application/json": "json-ld",
}
SUFFIXES = {
    ".ttl": "turtle",
    ".rdf": "xml",
    ".xml": "xml",
    ".jsonld": "json-ld",
    ".json": "json-ld",
}


def rdf_format_for(name: str) -> str:
    """The rdflib format for a file name or media type (`.ttl`, `application/rdf+xml`)."""
    lowered = name.lower().split(";")[0].strip()
    if lowered in MEDIA_TYPES:
        return MEDIA_TYPES[lowered]
    for suffix, rdf_format in SUFFIXES.items():
        if lowered.endswith(suffix):
            return rdf_format
    raise CatalogError(
        f"cannot tell the RDF format of {name!r}; use .ttl, .rdf, .jsonld", code="unknown_format"
    )


def read_portal(
    text: str | bytes, rdf_format: str, *, catalog_id: str = "urn:tsunagu:imported"
) -> Catalog:
    """A portal's DCAT-AP file as a catalogue (its own root catalogue, or its datasets)."""
    graph = parse_graph(text, rdf_format)
    if (None, RDF.type, URIRef(DCAT + "Catalog")) in graph:
        return from_graph(graph)
    datasets = read_datasets(graph)
    if not datasets:
        raise CatalogError("the file describes no dcat:Dataset", code="no_datasets")
    return Catalog(id=catalog_id, participant_id=None, datasets=datasets)
