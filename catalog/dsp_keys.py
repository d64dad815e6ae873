"""The DSP catalogue JSON's keys: the canonical names, the IRIs they stand for, and the
prefixes the DSP context declares (shared by writing, `catalog.dsp`, and reading,
`catalog.dsp_reading`)."""

from __future__ import annotations

from catalog.model import SERVING_MODE, TSU
from catalog.namespaces import FOAF, QUDT, SOSA, VCARD, XSD

DSP_CONTEXT = "https://w3id.org/dspace/2025/1/context.jsonld"

_DCAT = "http://www.w3.org/ns/dcat#"
_DCT = "http://purl.org/dc/terms/"
_ODRL = "http://www.w3.org/ns/odrl/2/"
_DSPACE = "https://w3id.org/dspace/2025/1/"
_PREFIXES = {"dcat": _DCAT, "dct": _DCT, "odrl": _ODRL, "dspace": _DSPACE, "tsu": TSU, "xsd": XSD}

# Canonical key -> the full IRI it stands for (how every spelling is recognised).
_KEYS = {
    "dataset": _DCAT + "dataset",
    "catalog": _DCAT + "catalog",
    "service": _DCAT + "service",
    "distribution": _DCAT + "distribution",
    "accessService": _DCAT + "accessService",
    "endpointURL": _DCAT + "endpointURL",
    "keyword": _DCAT + "keyword",
    "theme": _DCAT + "theme",
    "format": _DCT + "format",
    "title": _DCT + "title",
    "description": _DCT + "description",
    "hasPolicy": _ODRL + "hasPolicy",
    "participantId": _DSPACE + "participantId",
    "servingMode": SERVING_MODE,
    "spatial": _DCT + "spatial",
    "temporal": _DCT + "temporal",
    "startDate": _DCAT + "startDate",
    "endDate": _DCAT + "endDate",
    "accrualPeriodicity": _DCT + "accrualPeriodicity",
    "temporalResolution": _DCAT + "temporalResolution",
    "conformsTo": _DCT + "conformsTo",
    "license": _DCT + "license",
    "issued": _DCT + "issued",
    "modified": _DCT + "modified",
    "inSeries": _DCAT + "inSeries",
    "landingPage": _DCAT + "landingPage",
    "publisher": _DCT + "publisher",
    "contactPoint": _DCAT + "contactPoint",
    "identifier": _DCT + "identifier",
    "mediaType": _DCAT + "mediaType",
    "accessURL": _DCAT + "accessURL",
    "downloadURL": _DCAT + "downloadURL",
    "endpointDescription": _DCAT + "endpointDescription",
    "servesDataset": _DCAT + "servesDataset",
    "name": FOAF + "name",
    "homepage": FOAF + "homepage",
    "fn": VCARD + "fn",
    "hasEmail": VCARD + "hasEmail",
    "hasTelephone": VCARD + "hasTelephone",
    "hasURL": VCARD + "hasURL",
    "measures": TSU + "measures",
    "observedProperty": SOSA + "observedProperty",
    "hasUnit": QUDT + "hasUnit",
}
_BY_IRI = {iri: key for key, iri in _KEYS.items()}
