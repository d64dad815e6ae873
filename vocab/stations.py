"""Gauging stations in the shared model, with their thresholds in metres.

Station descriptions travel as RDF (Turtle or JSON-LD with the pinned context) and are checked
with the station shape before use; what the converter and classifier need is then read into
plain `Station` objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS
from rdflib.term import Node

from vocab.errors import VocabularyError
from vocab.namespaces import IC, QUDT, TSU, UNIT
from vocab.shapes import validate_graph
from vocab.vocabulary import graphs_from_files


@dataclass(frozen=True, slots=True)
class Station:
    iri: str
    code: str
    name_ja: str
    name_en: str
    river: str
    local_government_code: str
    municipality: str | None
    latitude: float | None
    longitude: float | None
    thresholds: Mapping[str, float] = field(default_factory=dict)
    """Threshold kind IRI -> water level in metres above the gauge datum."""

    @property
    def name(self) -> str:
        return self.name_ja or self.name_en or self.code


def stations_from_graph(graph: Graph, *, validate: bool = True) -> dict[str, Station]:
    """Every tsu:Station in `graph`, by IRI. With `validate`, the station shape must hold."""
    if validate:
        violations = validate_graph(graph)
        if violations:
            raise VocabularyError(
                "station data does not conform: " + "; ".join(str(v) for v in violations),
                code="invalid_station",
            )
    stations = {}
    for subject in graph.subjects(RDF.type, TSU.Station):
        if not isinstance(subject, URIRef):
            continue
        stations[str(subject)] = _station(graph, subject)
    return stations


def load_stations(
    paths: str | Path | Iterable[str | Path], *, validate: bool = True
) -> dict[str, Station]:
    """Stations from one or more Turtle / JSON-LD files."""
    if isinstance(paths, str | Path):
        paths = [paths]
    return stations_from_graph(graphs_from_files(paths), validate=validate)


def _station(graph: Graph, subject: URIRef) -> Station:
    thresholds: dict[str, float] = {}
    for node in graph.objects(subject, TSU.hasThreshold):
        kind = graph.value(node, TSU.thresholdKind)
        value = graph.value(node, QUDT.value)
        unit = graph.value(node, QUDT.hasUnit)
        if kind is None or not isinstance(value, Literal) or unit != UNIT.M:
            raise VocabularyError(
                f"{subject}: a threshold needs a kind and a value in metres", code="invalid_station"
            )
        thresholds[str(kind)] = float(value.toPython())
    coordinates = graph.value(subject, IC.地理座標)
    code = graph.value(subject, TSU.localGovernmentCode)
    municipality = graph.value(subject, TSU.municipality)
    return Station(
        iri=str(subject),
        code=str(graph.value(subject, DCTERMS.identifier) or ""),
        name_ja=_text(graph, subject, RDFS.label, "ja"),
        name_en=_text(graph, subject, RDFS.label, "en"),
        river=_text(graph, subject, TSU.river, "ja"),
        local_government_code=str(code or ""),
        municipality=None if municipality is None else str(municipality),
        latitude=_coordinate(graph, coordinates, IC.緯度),
        longitude=_coordinate(graph, coordinates, IC.経度),
        thresholds=MappingProxyType(thresholds),
    )


def _text(graph: Graph, subject: URIRef, predicate: URIRef, language: str) -> str:
    for value in graph.objects(subject, predicate):
        if isinstance(value, Literal) and value.language == language:
            return str(value)
    return ""


def _coordinate(graph: Graph, node: Node | None, predicate: URIRef) -> float | None:
    if node is None:
        return None
    value = graph.value(node, predicate)
    return None if value is None else float(str(value))
