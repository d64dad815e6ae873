"""Full DCAT RDF: the three serialisations round-trip, and so does the model."""

from __future__ import annotations

import dataclasses
import json

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import RDF, SKOS

from catalog.errors import CatalogError
from catalog.model import Catalog
from catalog.rdf import CONTEXT_IRI, FORMATS, from_graph, parse, parse_graph, serialise, to_graph
from policies.odrl import LogicalConstraint, Rule, same_terms
from tests.catalog.support import BASIN, CATALOG, OFFER, RAINFALL, SERVICE, WATER_LEVEL

DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCT = Namespace("http://purl.org/dc/terms/")
ODRL = Namespace("http://www.w3.org/ns/odrl/2/")
TSU = Namespace("https://w3id.org/tsunagu/vocab/")


@pytest.fixture(scope="module")
def graph() -> Graph:
    return to_graph(CATALOG)


@pytest.mark.parametrize("rdf_format", sorted(FORMATS))
def test_each_serialisation_parses_back_to_the_same_graph(graph: Graph, rdf_format: str) -> None:
    text = serialise(graph, rdf_format)
    assert isomorphic(parse_graph(text, rdf_format), graph)


@pytest.mark.parametrize("rdf_format", sorted(FORMATS))
def test_the_model_round_trips_through_each_serialisation(graph: Graph, rdf_format: str) -> None:
    back = parse(serialise(CATALOG, rdf_format), rdf_format)
    assert isomorphic(to_graph(back), graph)
    assert {d.id for d in back.datasets} == {WATER_LEVEL.id, RAINFALL.id}
    water = next(d for d in back.datasets if d.id == WATER_LEVEL.id)
    assert set(water.title) == set(WATER_LEVEL.title)
    assert set(water.spatial) == set(WATER_LEVEL.spatial)
    assert water.temporal == WATER_LEVEL.temporal and water.modified == WATER_LEVEL.modified
    # RDF keeps a rule's constraints as a set: the terms are the same, the order may not be
    assert water.measures == WATER_LEVEL.measures and same_terms(water.offers[0], OFFER)
    assert back.series[0].id == WATER_LEVEL.in_series[0]


def test_what_the_graph_says(graph: Graph) -> None:
    ds = URIRef(WATER_LEVEL.id)
    assert (ds, DCT.title, Literal("上流橋 河川水位", lang="ja")) in graph
    assert (ds, DCT.title, Literal("Joryu Bridge river water level", lang="en")) in graph
    theme = URIRef("https://w3id.org/tsunagu/vocab/theme/river-water-level")
    assert (ds, DCAT.theme, theme) in graph
    # a theme is a concept labelled from the vocabulary, places are locations
    assert (theme, SKOS.prefLabel, Literal("河川水位", lang="ja")) in graph
    assert (URIRef(BASIN), RDF.type, DCT.Location) in graph
    assert (ds, DCT.conformsTo, TSU["shapes/WaterLevelReadingShape"]) in graph
    assert (ds, ODRL.hasPolicy, URIRef(OFFER.uid)) in graph
    distributions = list(graph.objects(ds, DCAT.distribution))
    formats = {graph.value(d, DCT["format"]) for d in distributions}
    assert formats == {TSU["format/HttpData-PULL"], TSU["format/HttpData-PUSH"]}
    for d in distributions:  # DCAT-AP's accessURL is the DSP endpoint of the service
        assert graph.value(d, DCAT.accessURL) == URIRef(SERVICE.endpoint_url)
        assert graph.value(d, TSU.servingMode) == TSU.direct
    series = URIRef(WATER_LEVEL.in_series[0])
    assert (series, RDF.type, DCAT.DatasetSeries) in graph and (ds, DCAT.inSeries, series) in graph


def test_a_shared_offer_is_written_once_and_a_conflicting_one_is_refused() -> None:
    graph = to_graph(CATALOG)  # both datasets carry OFFER
    assert len(list(graph.objects(URIRef(OFFER.uid), ODRL.permission))) == 1
    other = OFFER.with_(permissions=(Rule("read"),))
    broken = dataclasses.replace(
        CATALOG, datasets=(WATER_LEVEL, dataclasses.replace(RAINFALL, offers=(other,)))
    )
    with pytest.raises(CatalogError) as caught:
        to_graph(broken)
    assert caught.value.code == "offer_id_reused"


def test_json_ld_carries_its_context_inline() -> None:
    document = json.loads(serialise(CATALOG, "json-ld"))
    assert isinstance(document["@context"], dict)
    assert document["@context"]["dcat"] == str(DCAT)


def test_json_ld_naming_a_remote_context_is_refused_not_fetched() -> None:
    remote = json.dumps({"@context": "https://example.org/context.jsonld", "@id": "urn:x"})
    with pytest.raises(CatalogError) as caught:
        parse_graph(remote, "json-ld")
    assert caught.value.code == "context_not_pinned"
    pinned = json.dumps(
        {"@context": CONTEXT_IRI, "@id": "urn:x", "@type": "dcat:Catalog", "dct:title": "t"}
    )
    catalog = parse(pinned, "json-ld")
    assert catalog.id == "urn:x" and catalog.title[0].value == "t"


def test_malformed_rdf_and_unknown_formats_have_codes() -> None:
    with pytest.raises(CatalogError) as caught:
        parse("<urn:a> <urn:b> .", "turtle")
    assert caught.value.code == "invalid_rdf"
    with pytest.raises(CatalogError) as caught:
        serialise(CATALOG, "n3")
    assert caught.value.code == "unknown_format"


def test_a_graph_needs_one_root_catalogue() -> None:
    graph = to_graph(CATALOG) + to_graph(Catalog(id="urn:other", participant_id=None))
    with pytest.raises(CatalogError) as caught:
        from_graph(graph)
    assert caught.value.code == "no_single_catalog"
    assert from_graph(graph, "urn:other").id == "urn:other"


def test_an_offer_with_logical_and_typed_constraints_round_trips() -> None:
    dataset = WATER_LEVEL  # OFFER: purpose eq <IRI>, and an ordered `or` of two constraints
    back = from_graph(to_graph(dataclasses.replace(CATALOG, datasets=(dataset,), series=())))
    assert [o.uid for o in back.datasets[0].offers] == [OFFER.uid]
    assert same_terms(back.datasets[0].offers[0], OFFER)
    ordered = back.datasets[0].offers[0].permissions[0].constraints
    logical = next(c for c in ordered if isinstance(c, LogicalConstraint))
    assert logical == next(
        c for c in OFFER.permissions[0].constraints if isinstance(c, LogicalConstraint)
    )
