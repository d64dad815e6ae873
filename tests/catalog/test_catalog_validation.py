"""What tsunagu publishes passes the official DCAT-AP 3.0.1 shapes and tsunagu's own profile;
what it refuses is explained in plain words."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS

from catalog.authoring import load_yaml
from catalog.errors import InvalidEntry, UnknownTerm
from catalog.model import Catalog, Text
from catalog.rdf import to_graph
from catalog.validation import Report, check_publishable, profile_shapes, validate_graph
from tests.catalog.support import CATALOG, RAINFALL, WATER_LEVEL

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "catalog" / "a-city.yaml"


@pytest.fixture(scope="module")
def dcat_ap(shared_dir: Path) -> Graph:
    """The official shapes, read in place (html/shacl split: mandatory, ranges, recommended)."""
    shapes = Graph()
    for name in ("shapes.ttl", "range.ttl", "shapes_recommended.ttl"):
        shapes.parse(shared_dir / "dcat-ap" / name, format="turtle")
    return shapes


def published() -> list[Catalog]:
    return [CATALOG, load_yaml(EXAMPLE.read_text("utf-8"))]


@pytest.mark.parametrize("index", [0, 1], ids=["model", "yaml"])
def test_what_tsunagu_publishes_is_dcat_ap_valid(dcat_ap: Graph, index: int) -> None:
    report = validate_graph(to_graph(published()[index]), dcat_ap)
    assert report.conforms, report.text()
    assert report.warnings  # the recommended shapes did run (e.g. no dcat:bbox on places)
    check_publishable(published()[index])  # and tsunagu's own profile


def test_dcat_ap_violations_are_reported_in_words(dcat_ap: Graph) -> None:
    graph = to_graph(CATALOG)
    graph.remove((URIRef(RAINFALL.id), DCTERMS.title, None))
    report = validate_graph(graph, dcat_ap)
    assert not report.conforms
    [issue] = report.violations
    assert issue.node == f"dataset <{RAINFALL.id}>" and issue.path == "dct:title"
    assert issue.text() == f"dataset <{RAINFALL.id}>, dct:title: is missing"


def refused(catalog: Catalog) -> Report:
    with pytest.raises(InvalidEntry) as caught:
        check_publishable(catalog)
    assert caught.value.code == "invalid_entry"
    assert str(caught.value).startswith(f"{len(caught.value.report.violations)} problem(s):")
    return caught.value.report


def with_water(**changes: object) -> Catalog:
    return dataclasses.replace(CATALOG, datasets=(dataclasses.replace(WATER_LEVEL, **changes),))


def test_a_dataset_without_english_title_or_offer_is_refused_naming_what_is_wrong() -> None:
    report = refused(with_water(title=(Text("上流橋 河川水位", "ja"),), offers=()))
    texts = [i.text() for i in report.violations]
    assert f"dataset <{WATER_LEVEL.id}>, dct:title: needs a title in English (en)" in texts
    assert any(
        t.startswith(f"dataset <{WATER_LEVEL.id}>: a dataset on offer needs at least one offer")
        for t in texts
    )


def test_a_blank_node_is_named_by_what_points_at_it() -> None:
    report = refused(
        with_water(
            distributions=(dataclasses.replace(WATER_LEVEL.distributions[0], serving_mode="urn:x"),)
        )
    )
    [issue] = report.violations
    assert issue.node == f"distribution HttpData-PULL of dataset <{WATER_LEVEL.id}>"
    assert issue.path == "tsu:servingMode" and issue.value == "urn:x"
    assert "tsu:direct (distributed) or tsu:accumulated" in issue.message


def test_a_contact_point_without_any_address_is_refused() -> None:
    contact = dataclasses.replace(WATER_LEVEL.contact_point, email=None)  # type: ignore[type-var]
    report = refused(with_water(contact_point=contact))
    assert any("needs an e-mail address" in i.message for i in report.violations)
    assert all(i.node.startswith("contact point of dataset") for i in report.violations)


def test_unknown_terms_are_refused_before_the_shapes_run() -> None:
    with pytest.raises(UnknownTerm) as caught:
        check_publishable(with_water(themes=("https://w3id.org/tsunagu/vocab/theme/volcano",)))
    assert caught.value.code == "unknown_theme"


def test_the_profile_is_package_data() -> None:
    shapes = profile_shapes()
    assert (URIRef("https://w3id.org/tsunagu/catalog/shapes/DatasetShape"), None, None) in shapes
