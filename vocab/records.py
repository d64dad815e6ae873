"""Records of the shared model and their three renderings: JSON-LD, CSV rows and RDF.

An observation follows SOSA + QUDT::

    {"@context": "https://w3id.org/tsunagu/vocab/context.jsonld",
     "id": "https://w3id.org/tsunagu/id/station/a-001/water-level/20240901T091000",
     "type": ["Observation", "WaterLevelObservation"],
     "observedProperty": "https://w3id.org/tsunagu/vocab/property/water-level",
     "hasFeatureOfInterest": "https://w3id.org/tsunagu/id/station/a-001",
     "resultTime": "2024-09-01T09:10:00+09:00",
     "hasResult": {"type": "QuantityValue", "value": 3.62,
                   "unit": "http://qudt.org/vocab/unit/M"},
     "localGovernmentCode": "082015",
     "municipality": "http://data.e-stat.go.jp/lod/sac/C08201"}

The CSV rendering flattens the result into ``value`` and ``unit`` and uses full IRIs. Both
read back into `Observation`s (`observations_from_graph`, `observations_from_csv`), so a
receiver such as C村 can classify what arrives over the data plane.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, NamedTuple

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD

from vocab.errors import VocabError
from vocab.namespaces import CONTEXT_IRI, ESTAT_SAC, QUDT, SOSA, TSU

CSV_COLUMNS = (
    "id",
    "type",
    "observedProperty",
    "hasFeatureOfInterest",
    "resultTime",
    "value",
    "unit",
    "localGovernmentCode",
)

_OBSERVATION = str(SOSA.Observation)
_SHORT_TYPES = {
    _OBSERVATION: "Observation",
    str(TSU.WaterLevelObservation): "WaterLevelObservation",
    str(TSU.RainfallObservation): "RainfallObservation",
}


class Observation(NamedTuple):
    """One reading in the shared model (a NamedTuple: cheap to build a million of)."""

    id: str
    observation_class: str
    """sosa:Observation or a subclass such as tsu:WaterLevelObservation."""
    observed_property: str
    feature_of_interest: str
    result_time: str
    """ISO 8601 with the +09:00 offset."""
    value: float
    unit: str
    local_government_code: str | None
    row: int
    """The source row it came from (1-based data rows), for error reports."""

    @property
    def types(self) -> tuple[str, ...]:
        if self.observation_class == _OBSERVATION:
            return (_OBSERVATION,)
        return (_OBSERVATION, self.observation_class)

    @property
    def municipality(self) -> str | None:
        code = self.local_government_code
        return None if code is None else f"{ESTAT_SAC}C{code[:5]}"


def observation_id(station: str, property_slug: str, result_time: str) -> str:
    """A stable IRI for a reading: station + property + compact local time."""
    basic = result_time[:19].replace("-", "").replace(":", "")
    return f"{station}/{property_slug}/{basic}"


def to_jsonld(record: Observation, *, context: bool = True) -> dict[str, Any]:
    """The compact JSON-LD object of one observation."""
    doc: dict[str, Any] = {}
    if context:
        doc["@context"] = CONTEXT_IRI
    doc["id"] = record.id
    doc["type"] = [_SHORT_TYPES.get(t, t) for t in record.types]
    doc["observedProperty"] = record.observed_property
    doc["hasFeatureOfInterest"] = record.feature_of_interest
    doc["resultTime"] = record.result_time
    doc["hasResult"] = {"type": "QuantityValue", "value": record.value, "unit": record.unit}
    if record.local_government_code is not None:
        doc["localGovernmentCode"] = record.local_government_code
        doc["municipality"] = record.municipality
    return doc


def to_jsonld_document(records: Iterable[Observation]) -> dict[str, Any]:
    """Several observations as one JSON-LD document with a shared context."""
    return {"@context": CONTEXT_IRI, "@graph": [to_jsonld(r, context=False) for r in records]}


def to_csv_row(record: Observation) -> tuple[str | float, ...]:
    return (
        record.id,
        record.observation_class,
        record.observed_property,
        record.feature_of_interest,
        record.result_time,
        record.value,
        record.unit,
        record.local_government_code or "",
    )


def add_to_graph(graph: Graph, record: Observation) -> URIRef:
    """Add one observation's triples (the same ones its JSON-LD expands to)."""
    node = URIRef(record.id)
    for klass in record.types:
        graph.add((node, RDF.type, URIRef(klass)))
    graph.add((node, SOSA.observedProperty, URIRef(record.observed_property)))
    graph.add((node, SOSA.hasFeatureOfInterest, URIRef(record.feature_of_interest)))
    graph.add((node, SOSA.resultTime, Literal(record.result_time, datatype=XSD.dateTime)))
    result = BNode()
    graph.add((node, SOSA.hasResult, result))
    graph.add((result, RDF.type, QUDT.QuantityValue))
    graph.add((result, QUDT.value, Literal(record.value, datatype=XSD.double)))
    graph.add((result, QUDT.hasUnit, URIRef(record.unit)))
    if record.local_government_code is not None:
        graph.add((node, TSU.localGovernmentCode, Literal(record.local_government_code)))
        graph.add((node, TSU.municipality, URIRef(str(record.municipality))))
    return node


def observations_graph(records: Iterable[Observation]) -> Graph:
    graph = Graph()
    for record in records:
        add_to_graph(graph, record)
    return graph


def observations_from_graph(graph: Graph) -> list[Observation]:
    """Read shared-model observations back from RDF (received JSON-LD or Turtle), sorted by
    time then IRI. Reading the graph, not the JSON, makes any JSON-LD spelling work alike.
    Nodes that lack a part of the model are skipped: validate with the shapes first."""
    records = []
    for node in set(graph.subjects(RDF.type, SOSA.Observation)):
        if not isinstance(node, URIRef):
            continue
        result = graph.value(node, SOSA.hasResult)
        parts = (
            graph.value(node, SOSA.observedProperty),
            graph.value(node, SOSA.hasFeatureOfInterest),
            graph.value(node, SOSA.resultTime),
            None if result is None else graph.value(result, QUDT.value),
            None if result is None else graph.value(result, QUDT.hasUnit),
        )
        if any(part is None for part in parts):
            continue
        prop, station, time, value, unit = parts
        classes = {str(c) for c in graph.objects(node, RDF.type)} - {_OBSERVATION}
        code = graph.value(node, TSU.localGovernmentCode)
        records.append(
            Observation(
                str(node),
                min(classes) if classes else _OBSERVATION,
                str(prop),
                str(station),
                str(time),
                float(str(value)),
                str(unit),
                None if code is None else str(code),
                0,
            )
        )
    return sorted(records, key=lambda r: (r.result_time, r.id))


def observations_from_csv(lines: Iterable[str]) -> list[Observation]:
    """Read the shared-model CSV (as `CSV_COLUMNS`) back into observations."""
    reader = csv.DictReader(lines)
    if reader.fieldnames is None or tuple(reader.fieldnames) != CSV_COLUMNS:
        raise VocabError(
            f"not shared-model CSV: expected the columns {', '.join(CSV_COLUMNS)}",
            code="not_shared_model_csv",
        )
    return [
        Observation(
            row["id"],
            row["type"],
            row["observedProperty"],
            row["hasFeatureOfInterest"],
            row["resultTime"],
            float(row["value"]),
            row["unit"],
            row["localGovernmentCode"] or None,
            number,
        )
        for number, row in enumerate(reader, start=1)
    ]
