"""Namespace IRIs of the shared vocabulary and of the standards it builds on.

tsunagu's own terms live under ``https://w3id.org/tsunagu/vocab/``; each concept scheme has its
own sub-path so that a term IRI names its scheme (``.../theme/flood``, ``.../threshold/standby``).
"""

from __future__ import annotations

from rdflib import Namespace
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SH, SKOS, XSD

BASE = "https://w3id.org/tsunagu/vocab/"
ONTOLOGY_IRI = "https://w3id.org/tsunagu/vocab"
SHAPES_IRI = "https://w3id.org/tsunagu/vocab/shapes"
CONTEXT_IRI = "https://w3id.org/tsunagu/vocab/context.jsonld"

TSU = Namespace(BASE)
THEME = Namespace(BASE + "theme/")
PROPERTY = Namespace(BASE + "property/")
THRESHOLD = Namespace(BASE + "threshold/")
ALERT = Namespace(BASE + "alert/")
BULLETIN = Namespace(BASE + "bulletin/")
EVACUATION = Namespace(BASE + "evacuation/")
PURPOSE = Namespace(BASE + "purpose/")
BASIN = Namespace(BASE + "basin/")
FORMAT = Namespace(BASE + "format/")
TSUSH = Namespace(BASE + "shapes/")

SOSA = Namespace("http://www.w3.org/ns/sosa/")
SSN = Namespace("http://www.w3.org/ns/ssn/")
QUDT = Namespace("http://qudt.org/schema/qudt/")
UNIT = Namespace("http://qudt.org/vocab/unit/")
QUANTITYKIND = Namespace("http://qudt.org/vocab/quantitykind/")
QKDV = Namespace("http://qudt.org/vocab/dimensionvector/")
IC = Namespace("http://imi.go.jp/ns/core/rdf#")
ESTAT_SAC = Namespace("http://data.e-stat.go.jp/lod/sac/")
DPV = Namespace("https://w3id.org/dpv#")
VANN = Namespace("http://purl.org/vocab/vann/")
FIWARE = Namespace("https://smartdatamodels.org/")
FIWARE_ENVIRONMENT = Namespace("https://smartdatamodels.org/dataModel.Environment/")
FIWARE_WEATHER = Namespace("https://smartdatamodels.org/dataModel.Weather/")

PREFIXES: dict[str, str] = {
    "tsu": BASE,
    "theme": str(THEME),
    "property": str(PROPERTY),
    "threshold": str(THRESHOLD),
    "alert": str(ALERT),
    "bulletin": str(BULLETIN),
    "evacuation": str(EVACUATION),
    "purpose": str(PURPOSE),
    "basin": str(BASIN),
    "format": str(FORMAT),
    "tsush": str(TSUSH),
    "sosa": str(SOSA),
    "ssn": str(SSN),
    "qudt": str(QUDT),
    "unit": str(UNIT),
    "quantitykind": str(QUANTITYKIND),
    "qkdv": str(QKDV),
    "ic": str(IC),
    "sac": str(ESTAT_SAC),
    "dpv": str(DPV),
    "vann": str(VANN),
    "fiware": str(FIWARE),
    "fiware-env": str(FIWARE_ENVIRONMENT),
    "fiware-weather": str(FIWARE_WEATHER),
    "skos": str(SKOS),
    "owl": str(OWL),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "dct": str(DCTERMS),
    "sh": str(SH),
    "xsd": str(XSD),
}
"""Prefixes bound when the vocabulary is serialised and accepted as CURIEs on input."""


def is_shared_term(iri: str) -> bool:
    """True for IRIs minted by the shared vocabulary itself (not a participant's local terms)."""
    return iri.startswith(BASE) or iri == ONTOLOGY_IRI


def expand_curie(text: str) -> str:
    """Expand ``prefix:local`` with a known prefix; anything else is returned unchanged."""
    prefix, sep, local = text.partition(":")
    if sep and prefix in PREFIXES and not local.startswith("//"):
        return PREFIXES[prefix] + local
    return text


def compact_iri(iri: str) -> str:
    """The shortest ``prefix:local`` form of an IRI, or the IRI itself."""
    best = iri
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace) and len(iri) > len(namespace):
            candidate = f"{prefix}:{iri[len(namespace) :]}"
            if len(candidate) < len(best):
                best = candidate
    return best
