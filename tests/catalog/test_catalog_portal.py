"""Reading DCAT-AP as open-data portals (CKAN's ckanext-dcat) publish it."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from rdflib import Graph

from catalog.errors import CatalogError
from catalog.model import Text
from catalog.portal import rdf_format_for, read_portal

# Written here in the style ckanext-dcat's DCAT-AP profile produces (literals for formats,
# media types and keywords; schema:startDate; vcard:Organization contact; geometry places).
CKAN_TURTLE = """
@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .
@prefix schema: <http://schema.org/> .
@prefix locn: <http://www.w3.org/ns/locn#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

<https://portal.example/catalog> a dcat:Catalog ;
    dct:title "Portal" ; dct:description "Open data" ;
    dcat:dataset <https://portal.example/dataset/shelters> .

<https://portal.example/dataset/shelters> a dcat:Dataset ;
    dct:title "指定緊急避難場所一覧"@ja , "Designated emergency evacuation sites"@en ;
    dct:description "避難場所の一覧" ;
    dcat:keyword "避難所" , "防災" ;
    dcat:theme <http://publications.europa.eu/resource/authority/data-theme/GOVE> ;
    dct:issued "2023-04-01T09:00:00"^^xsd:dateTime ;
    dct:modified "2024-03-31"^^xsd:date ;
    dct:publisher [ a foaf:Organization ; foaf:name "B町" ] ;
    dcat:contactPoint [ a vcard:Organization ; vcard:fn "B町 総務課" ;
                        vcard:hasEmail <mailto:soumu@b-town.example> ] ;
    dct:temporal [ a dct:PeriodOfTime ; schema:startDate "2023-04-01"^^xsd:date ] ;
    dct:spatial [ a dct:Location ; locn:geometry "POINT(137.9 36.0)" ] ,
        <http://data.e-stat.go.jp/lod/sac/C20383> ;
    dcat:distribution <https://portal.example/dataset/shelters/resource/1> .

<https://portal.example/dataset/shelters/resource/1> a dcat:Distribution ;
    dct:title "CSV" ;
    dct:format "CSV" ;
    dcat:mediaType "text/csv" ;
    dcat:accessURL <https://portal.example/files/shelters.csv> ;
    dcat:downloadURL <https://portal.example/files/shelters.csv> ;
    dct:license <https://creativecommons.org/licenses/by/4.0/> .
"""


@pytest.mark.parametrize("rdf_format", ["turtle", "xml", "json-ld"])
def test_a_ckan_file_is_read_in_each_syntax(rdf_format: str) -> None:
    text = Graph().parse(data=CKAN_TURTLE, format="turtle").serialize(format=rdf_format)
    catalog = read_portal(text, rdf_format)
    assert catalog.id == "https://portal.example/catalog"
    [dataset] = catalog.datasets
    assert set(dataset.title) == {
        Text("指定緊急避難場所一覧", "ja"),
        Text("Designated emergency evacuation sites", "en"),
    }
    assert {k.value for k in dataset.keywords} == {"避難所", "防災"}
    assert dataset.issued == datetime(2023, 4, 1, 9) and dataset.modified == date(2024, 3, 31)
    assert dataset.publisher is not None and dataset.publisher.name == (Text("B町"),)
    assert (
        dataset.contact_point is not None and dataset.contact_point.email == "soumu@b-town.example"
    )
    assert dataset.temporal is not None and dataset.temporal.start == date(2023, 4, 1)
    assert dataset.spatial == ("http://data.e-stat.go.jp/lod/sac/C20383",)  # geometry dropped
    [distribution] = dataset.distributions
    assert distribution.format == "CSV" and distribution.media_type == "text/csv"
    assert distribution.access_service is None
    assert distribution.download_url == "https://portal.example/files/shelters.csv"
    assert distribution.license == "https://creativecommons.org/licenses/by/4.0/"
    assert dataset.offers == ()  # a portal describes; it does not offer


def test_datasets_without_a_catalogue_are_gathered() -> None:
    text = CKAN_TURTLE.split("<https://portal.example/dataset/shelters> a", 1)[1]
    head = CKAN_TURTLE.split("<https://portal.example/catalog>", 1)[0]
    catalog = read_portal(head + "<https://portal.example/dataset/shelters> a" + text, "turtle")
    assert catalog.id == "urn:tsunagu:imported" and len(catalog.datasets) == 1


def test_files_describing_nothing_or_unknown_formats_are_refused() -> None:
    with pytest.raises(CatalogError) as caught:
        read_portal("<urn:a> <urn:b> <urn:c> .", "turtle")
    assert caught.value.code == "no_datasets"
    assert rdf_format_for("catalog.ttl") == "turtle"
    assert rdf_format_for("application/rdf+xml; charset=utf-8") == "xml"
    with pytest.raises(CatalogError):
        rdf_format_for("catalog.csv")
