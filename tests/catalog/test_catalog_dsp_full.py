"""The full model in DSP 2025-1 JSON: schema-valid, round-trips, and cheap at 10,000 datasets."""

from __future__ import annotations

import dataclasses
import json

import pytest
import rdflib

from catalog.dsp import catalog_to_json, dataset_to_json, parse_catalog, parse_dataset
from catalog.model import Catalog, DataService, Dataset, Distribution
from tests.catalog.support import CATALOG, OFFER, SERVICE, WATER_LEVEL
from tests.conftest import Validate

# A DSP catalogue has no room for series (they are not on offer): they stay in DCAT RDF.
DSP_CATALOG = dataclasses.replace(CATALOG, series=(), theme_taxonomies=(), homepage=None)


def test_the_full_catalogue_is_schema_valid_and_round_trips(validate: Validate) -> None:
    document = catalog_to_json(DSP_CATALOG)
    validate(document, "catalog/catalog-schema.json")
    assert parse_catalog(document) == DSP_CATALOG
    assert catalog_to_json(parse_catalog(json.loads(json.dumps(document)))) == document


def test_a_standalone_dataset_is_schema_valid_and_round_trips(validate: Validate) -> None:
    inline = dataclasses.replace(
        WATER_LEVEL,
        distributions=tuple(
            dataclasses.replace(d, service=SERVICE) for d in WATER_LEVEL.distributions
        ),
    )
    document = dataset_to_json(inline, root=True)
    validate(document, "catalog/dataset-schema.json")
    assert parse_dataset(document) == inline
    assert document["distribution"][0]["accessService"]["dct:title"][0] == {
        "@value": "A市 データ連携窓口",
        "@language": "ja",
    }


def test_descriptive_properties_travel_in_dsp_json() -> None:
    document = dataset_to_json(WATER_LEVEL, root=False)
    assert document["dct:title"] == [
        {"@value": "上流橋 河川水位", "@language": "ja"},
        {"@value": "Joryu Bridge river water level", "@language": "en"},
    ]
    assert {"@id": "https://w3id.org/tsunagu/vocab/basin/tsunagu-river"} in document["dct:spatial"]
    assert document["dct:temporal"]["dcat:startDate"] == {
        "@value": "2024-04-01",
        "@type": "xsd:date",
    }
    assert document["dct:conformsTo"] == [
        {"@id": "https://w3id.org/tsunagu/vocab/shapes/WaterLevelReadingShape"}
    ]
    assert [d["format"] for d in document["distribution"]] == ["HttpData-PULL", "HttpData-PUSH"]
    assert document["hasPolicy"][0]["@id"] == OFFER.uid and "target" not in document["hasPolicy"][0]


def test_a_lone_untagged_title_stays_a_plain_string() -> None:
    plain = dataclasses.replace(WATER_LEVEL, title="水位", description=(), keywords=())
    document = dataset_to_json(plain, root=False)
    assert document["dct:title"] == "水位" and "dcat:keyword" not in document


def test_ten_thousand_datasets_serialise_without_touching_rdflib(
    monkeypatch: pytest.MonkeyPatch, validate: Validate
) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"DSP JSON must be written without an RDF graph ({args}, {kwargs})")

    monkeypatch.setattr(rdflib.Graph, "__init__", forbidden)
    monkeypatch.setattr(rdflib.Graph, "parse", forbidden)
    service = DataService(id="urn:svc", endpoint_url="https://a.example/dsp")
    datasets = tuple(
        dataclasses.replace(
            WATER_LEVEL,
            id=f"urn:ds:{i}",
            in_series=(),
            distributions=(Distribution(format="HttpData-PULL", access_service=service.id),),
        )
        for i in range(10_000)
    )
    catalog = Catalog(
        id="urn:cat", participant_id="did:web:a.example", datasets=datasets, services=(service,)
    )
    document = catalog_to_json(catalog)
    assert len(document["dataset"]) == 10_000
    assert document["dataset"][9_999]["@id"] == "urn:ds:9999"
    monkeypatch.undo()
    validate({**document, "dataset": document["dataset"][:3]}, "catalog/catalog-schema.json")


def test_unknown_keys_of_a_peer_are_ignored_and_known_ones_read_in_any_spelling() -> None:
    document = dataset_to_json(dataclasses.replace(WATER_LEVEL, in_series=()), root=True)
    document["http://example.org/ns#rating"] = 5
    document["http://purl.org/dc/terms/license"] = document.pop("dct:license")
    assert parse_dataset(document) == dataclasses.replace(WATER_LEVEL, in_series=())


def test_a_distribution_without_service_cannot_go_into_dsp() -> None:
    portal = Dataset(id="urn:ds", offers=(OFFER,), distributions=(Distribution(format="CSV"),))
    from catalog.errors import CatalogError

    with pytest.raises(CatalogError) as caught:
        dataset_to_json(portal, root=True)
    assert caught.value.code == "not_a_dsp_distribution"
