"""Catalogue <-> DSP JSON: the spec's examples, other spellings, and what is refused.

(Schema validation of our output is in tests/conformance.)
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from catalog.dsp import catalog_to_json, dataset_to_json, parse_catalog, parse_dataset
from catalog.errors import CatalogError
from catalog.model import Catalog, DataService, Dataset, Distribution, Text, texts
from policies.odrl import Policy, Rule

EXAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "dsp" / "catalog" / "example"
SERVICE = DataService(id="urn:svc:1", endpoint_url="https://a.example/dsp/2025-1")
OFFER = Policy(kind="Offer", uid="urn:offer:1", permissions=(Rule("use"),))
DATASET = Dataset(
    id="urn:ds:1",
    title="河川水位 (A市)",
    description="Water level, every 10 minutes",
    keywords=("river", "水位"),
    themes=("https://tsunagu.example/theme/disaster",),
    offers=(OFFER,),
    distributions=(
        Distribution("HttpData-PULL", SERVICE.id),
        Distribution("HttpData-PUSH", SERVICE.id),
    ),
)
CATALOG = Catalog(
    id="urn:cat:1", participant_id="did:web:a.example", datasets=(DATASET,), services=(SERVICE,)
)


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    return data


def test_catalog_example() -> None:
    catalog = parse_catalog(load("catalog.json"))
    assert catalog.participant_id == "urn:example:DataProviderA"
    assert catalog.services == (
        DataService(
            "urn:uuid:4aa2dcc8-4d2d-569e-d634-8394a8834d77", "https://provider-a.com/connector"
        ),
    )
    (dataset,) = catalog.datasets
    assert dataset.offers[0].kind == "Offer" and dataset.offers[0].target is None
    assert dataset.distributions == (
        Distribution("HttpData-PULL", "urn:uuid:4aa2dcc8-4d2d-569e-d634-8394a8834d77"),
    )


def test_nested_catalog_example() -> None:
    catalog = parse_catalog(load("nested-catalog.json"))
    assert catalog.datasets == () and catalog.services == ()
    (inner,) = catalog.catalogs
    assert inner.participant_id is None
    assert inner.distributions == (
        Distribution("Catalog", "urn:uuid:4aa2dcc8-4d2d-569e-d634-8394a8834d77"),
    )
    assert inner.services[0].endpoint_url == "https://provder-a.com/subcatalog"
    assert catalog_to_json(catalog) == load("nested-catalog.json")


def test_dataset_example_with_an_inline_service() -> None:
    dataset = parse_dataset(load("dataset.json"))
    (distribution,) = dataset.distributions
    assert distribution.access_service == "urn:uuid:4aa2dcc8-4d2d-569e-d634-8394a8834d77"
    assert distribution.service == DataService(
        distribution.access_service, "https://provider-a.com/connector"
    )
    assert dataset_to_json(dataset, root=True) == load("dataset.json")


def test_our_catalogue_round_trips() -> None:
    written = catalog_to_json(CATALOG)
    assert written["@context"] == ["https://w3id.org/dspace/2025/1/context.jsonld"]
    node = written["dataset"][0]
    assert node["@type"] == "Dataset" and "@context" not in node
    assert node["dct:title"] == "河川水位 (A市)"
    assert node["dcat:theme"] == [{"@id": "https://tsunagu.example/theme/disaster"}]
    assert all(d["@type"] == "Distribution" for d in node["distribution"])
    assert parse_catalog(written) == CATALOG
    assert parse_dataset(dataset_to_json(DATASET, root=True)) == DATASET


def test_offers_are_written_without_target() -> None:
    with_target = Dataset(**{**DATASET.__dict__, "offers": (OFFER.with_(target="urn:ds:1"),)})
    assert "target" not in dataset_to_json(with_target, root=False)["hasPolicy"][0]
    ready = DATASET.offer("urn:offer:1")
    assert ready is not None and ready.target == "urn:ds:1"
    assert DATASET.offer("urn:offer:unknown") is None


def test_other_spellings_are_read() -> None:
    spelled = {
        "@id": "urn:cat:1",
        "@type": "dcat:Catalog",
        "dspace:participantId": {"@id": "did:web:a.example"},
        "dcat:service": {"@id": "urn:svc:1", "@type": "dcat:DataService", "dcat:endpointURL": "https://a.example/dsp/2025-1"},
        "http://www.w3.org/ns/dcat#dataset": {
            "@id": "urn:ds:1",
            "@type": "http://www.w3.org/ns/dcat#Dataset",
            "dct:title": [{"@value": "River level", "@language": "en"}, "河川水位 (A市)"],
            "http://purl.org/dc/terms/description": {"@value": "Water level, every 10 minutes"},
            "dcat:keyword": ["river", {"@value": "水位", "@language": "ja"}],
            "dcat:theme": "https://tsunagu.example/theme/disaster",
            "odrl:hasPolicy": {"@id": "urn:offer:1", "@type": "odrl:Offer", "odrl:permission": {"odrl:action": "odrl:use"}},
            "dcat:distribution": [
                {"@type": "dcat:Distribution", "dct:format": {"@id": "HttpData-PULL"}, "dcat:accessService": {"@id": "urn:svc:1"}},
                {"dct:format": "HttpData-PUSH", "dcat:accessService": "urn:svc:1"},
            ],
        },
    }  # fmt: skip
    # Every language version is kept, in the order given.
    parsed = parse_catalog(spelled)
    assert parsed.datasets[0].title == (Text("River level", "en"), Text("河川水位 (A市)"))
    assert parsed.datasets[0].keywords == (Text("river"), Text("水位", "ja"))
    untagged = dataclasses.replace(
        parsed.datasets[0], title=texts("河川水位 (A市)"), keywords=("river", "水位")
    )
    assert dataclasses.replace(parsed, datasets=(untagged,)) == CATALOG


def broken(change: str) -> tuple[dict[str, Any], str]:
    catalog = catalog_to_json(CATALOG)
    dataset = catalog["dataset"][0]
    codes = {
        "no participant": (lambda: catalog.pop("participantId"), "missing_field"),
        "no catalog id": (lambda: catalog.pop("@id"), "missing_field"),
        "wrong catalog type": (lambda: catalog.update({"@type": "Dataset"}), "wrong_type"),
        "catalog policy": (lambda: catalog.update({"hasPolicy": dataset["hasPolicy"]}), "invalid_catalog"),
        "no dataset id": (lambda: dataset.pop("@id"), "missing_field"),
        "wrong dataset type": (lambda: dataset.update({"@type": "Catalog"}), "wrong_type"),
        "no offers": (lambda: dataset.pop("hasPolicy"), "missing_field"),
        "no distribution": (lambda: dataset.update({"distribution": []}), "missing_field"),
        "bad offer": (lambda: dataset["hasPolicy"][0].pop("permission"), "invalid_policy"),
        "agreement as offer": (lambda: dataset["hasPolicy"][0].update({"@type": "Agreement"}), "invalid_policy"),
        "offer for another dataset": (lambda: dataset["hasPolicy"][0].update({"target": "urn:ds:2"}), "offer_target_mismatch"),
        "no format": (lambda: dataset["distribution"][0].pop("format"), "missing_field"),
        "two formats": (lambda: dataset["distribution"][0].update({"format": ["a", "b"]}), "invalid_field"),
        "no access service": (lambda: dataset["distribution"][0].pop("accessService"), "missing_field"),
        "service without URL": (lambda: catalog["service"][0].pop("endpointURL"), "missing_field"),
        "dataset not an object": (lambda: catalog.update({"dataset": ["urn:ds:1"]}), "invalid_field"),
        "keyword object": (lambda: dataset.update({"dcat:keyword": [{"x": 1}]}), "invalid_field"),
    }  # fmt: skip
    mutate, code = codes[change]
    mutate()  # type: ignore[no-untyped-call]
    return catalog, code


CHANGES = [
    "no participant", "no catalog id", "wrong catalog type", "catalog policy", "no dataset id",
    "wrong dataset type", "no offers", "no distribution", "bad offer", "agreement as offer",
    "offer for another dataset", "no format", "two formats", "no access service",
    "service without URL", "dataset not an object", "keyword object",
]  # fmt: skip


@pytest.mark.parametrize("change", CHANGES)
def test_refusals(change: str) -> None:
    data, code = broken(change)
    with pytest.raises(CatalogError) as caught:
        parse_catalog(copy.deepcopy(data))
    assert caught.value.code == code


def test_an_offer_naming_its_own_dataset_is_accepted() -> None:
    data = dataset_to_json(DATASET, root=True)
    data["hasPolicy"][0]["target"] = "urn:ds:1"  # EDC-style; the schema says no target here
    assert parse_dataset(data) == DATASET


@pytest.mark.parametrize(
    ("build", "code"),
    [
        (lambda: catalog_to_json(Catalog(id="c", participant_id=None)), "missing_field"),
        (
            lambda: dataset_to_json(
                Dataset(id="d", distributions=DATASET.distributions), root=True
            ),
            "no_offer",
        ),
        (lambda: dataset_to_json(Dataset(id="d", offers=(OFFER,)), root=True), "no_distribution"),
        (lambda: Distribution("HttpData-PULL", "urn:svc:2", service=SERVICE), "service_mismatch"),
    ],
)
def test_writing_refuses_what_the_schema_forbids(build: object, code: str) -> None:
    with pytest.raises(CatalogError) as caught:
        build()  # type: ignore[operator]
    assert caught.value.code == code


def test_parse_refuses_non_objects() -> None:
    values: list[object] = [[], "catalog", None]
    for value in values:
        with pytest.raises(CatalogError):
            parse_catalog(value)
        with pytest.raises(CatalogError):
            parse_dataset(value)
