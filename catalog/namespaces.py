"""Namespace IRIs the catalogue writes, as plain strings (the DSP writer never touches rdflib)."""

from __future__ import annotations

from vocab.namespaces import BASIN, ESTAT_SAC, FORMAT, THEME

DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
DCATAP = "http://data.europa.eu/r5r/"
FOAF = "http://xmlns.com/foaf/0.1/"
VCARD = "http://www.w3.org/2006/vcard/ns#"
ODRL = "http://www.w3.org/ns/odrl/2/"
DSPACE = "https://w3id.org/dspace/2025/1/"
SKOS = "http://www.w3.org/2004/02/skos/core#"
XSD = "http://www.w3.org/2001/XMLSchema#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SOSA = "http://www.w3.org/ns/sosa/"
QUDT = "http://qudt.org/schema/qudt/"
LOCN = "http://www.w3.org/ns/locn#"
SCHEMA = "http://schema.org/"
ADMS = "http://www.w3.org/ns/adms#"
TSU = "https://w3id.org/tsunagu/vocab/"
TSUCAT = "https://w3id.org/tsunagu/catalog/shapes/"
IANA_MEDIA = "http://www.iana.org/assignments/media-types/"

THEMES = str(THEME)
BASINS = str(BASIN)
FORMATS = str(FORMAT)
MUNICIPALITIES = str(ESTAT_SAC)

PREFIXES: dict[str, str] = {
    "dcat": DCAT,
    "dct": DCT,
    "dcatap": DCATAP,
    "foaf": FOAF,
    "vcard": VCARD,
    "odrl": ODRL,
    "dspace": DSPACE,
    "skos": SKOS,
    "xsd": XSD,
    "sosa": SOSA,
    "qudt": QUDT,
    "locn": LOCN,
    "tsu": TSU,
    "theme": THEMES,
    "basin": BASINS,
    "format": FORMATS,
    "sac": MUNICIPALITIES,
    "unit": "http://qudt.org/vocab/unit/",
    "property": TSU + "property/",
    "frequency": "http://publications.europa.eu/resource/authority/frequency/",
}
"""Bound when RDF is written, and used to name nodes and properties in plain-words reports."""


def compact(iri: str) -> str:
    """`prefix:local` for the longest matching namespace, or the IRI itself."""
    best = ""
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace) and len(namespace) > len(best) and len(iri) > len(namespace):
            best = namespace
            name = f"{prefix}:{iri[len(namespace) :]}"
    return name if best else iri


def transfer_format_iri(token: str) -> str:
    """The IRI full DCAT uses for a DSP format token (`HttpData-PULL`); IRIs stay as they are."""
    return token if ":" in token else FORMATS + token


def transfer_format_token(iri: str) -> str:
    """The reverse of `transfer_format_iri`."""
    return iri[len(FORMATS) :] if iri.startswith(FORMATS) else iri


def media_type_iri(media_type: str) -> str:
    """`text/csv` -> its IANA IRI; IRIs stay as they are."""
    return media_type if ":" in media_type else IANA_MEDIA + media_type


def media_type_token(iri: str) -> str:
    """The reverse of `media_type_iri`."""
    return iri[len(IANA_MEDIA) :] if iri.startswith(IANA_MEDIA) else iri
