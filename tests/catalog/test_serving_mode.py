"""A distribution says how it is served: directly from the owner's system, or from the
provider connector's accumulation buffer (`tsu:servingMode`, a term of the shared vocabulary).

The DSP exchange over real connectors is in tests/dataplane/test_catalog_mode.py.
"""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF

from catalog.dsp import catalog_to_json, dataset_to_json, parse_catalog, parse_dataset
from catalog.errors import CatalogError
from catalog.model import (
    ACCUMULATED,
    DIRECT,
    SERVING_MODE,
    Catalog,
    DataService,
    Dataset,
    Distribution,
)
from policies.odrl import Policy, Rule
from tests.conftest import Validate
from vocab.vocabulary import load_vocabulary

SERVICE = DataService(id="did:web:a.example#dsp", endpoint_url="https://a.example/dsp/2025-1")
OFFER = Policy(kind="Offer", uid="urn:offer:1", permissions=(Rule("use"),))


def dataset(mode: str | None, *, inline: bool = False) -> Dataset:
    service = SERVICE if inline else None
    return Dataset(
        id="urn:ds:levels",
        title="河川水位",
        offers=(OFFER,),
        distributions=tuple(
            Distribution(f, SERVICE.id, service=service, serving_mode=mode)
            for f in ("HttpData-PULL", "HttpData-PUSH")
        ),
    )


def catalog(*datasets: Dataset) -> Catalog:
    return Catalog(
        id="did:web:a.example#catalog",
        participant_id="did:web:a.example",
        datasets=datasets,
        services=(SERVICE,),
    )


@pytest.mark.parametrize("mode", [DIRECT, ACCUMULATED])
def test_the_mode_is_written_on_every_distribution_and_read_back(mode: str) -> None:
    written = catalog_to_json(catalog(dataset(mode)))
    for distribution in written["dataset"][0]["distribution"]:
        assert distribution[SERVING_MODE] == {"@id": mode}
    read = parse_catalog(json.loads(json.dumps(written)))
    assert read == catalog(dataset(mode))
    assert read.datasets[0].serving_mode == mode


def test_no_mode_writes_nothing_so_the_spec_examples_stay_as_they_are() -> None:
    written = dataset_to_json(dataset(None), root=True)
    assert all(SERVING_MODE not in d for d in written["distribution"])
    assert parse_dataset(written).serving_mode is None


def test_other_spellings_of_the_mode_are_read() -> None:
    written = dataset_to_json(dataset(None), root=True)
    written["distribution"][0]["tsu:servingMode"] = {"@id": "tsu:accumulated"}
    written["distribution"][1][SERVING_MODE] = [ACCUMULATED]
    read = parse_dataset(written)
    assert [d.serving_mode for d in read.distributions] == [ACCUMULATED, ACCUMULATED]


def test_two_modes_on_one_distribution_are_refused() -> None:
    written = dataset_to_json(dataset(None), root=True)
    written["distribution"][0][SERVING_MODE] = [{"@id": DIRECT}, {"@id": ACCUMULATED}]
    with pytest.raises(CatalogError) as caught:
        parse_dataset(written)
    assert caught.value.code == "invalid_field"


def test_mixed_distributions_state_no_single_mode() -> None:
    mixed = Dataset(
        id="urn:ds:x",
        offers=(OFFER,),
        distributions=(
            Distribution("HttpData-PULL", SERVICE.id, serving_mode=DIRECT),
            Distribution("HttpData-PUSH", SERVICE.id, serving_mode=ACCUMULATED),
        ),
    )
    assert mixed.serving_mode is None


def test_catalogue_and_dataset_with_modes_are_schema_valid(validate: Validate) -> None:
    validate(
        catalog_to_json(catalog(dataset(ACCUMULATED), dataset(DIRECT))),
        "catalog/catalog-schema.json",
    )
    validate(dataset_to_json(dataset(ACCUMULATED, inline=True), root=True),
             "catalog/dataset-schema.json")  # fmt: skip


def pinned_context(dsp_dir: Path) -> dict[str, Any]:
    """The DSP context with the ODRL profile inlined, so nothing is fetched (as in
    tests/conformance/test_dsp_graphs.py)."""
    dspace: dict[str, Any] = json.loads((dsp_dir / "context/dspace.jsonld").read_text())["@context"]
    odrl: dict[str, Any] = json.loads((dsp_dir / "context/odrl.jsonld").read_text())["@context"]
    for term in dspace.values():
        scoped = term.get("@context") if isinstance(term, dict) else None
        if scoped and scoped.pop("@import", None):
            term["@context"] = {**odrl, **scoped}
    return dspace


def test_as_json_ld_the_mode_is_a_triple_on_the_distribution(dsp_dir: Path) -> None:
    document = copy.deepcopy(catalog_to_json(catalog(dataset(ACCUMULATED))))
    document["@context"] = [pinned_context(dsp_dir)]
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", "(ConjunctiveGraph|Dataset.default_context) is deprecated", DeprecationWarning
        )
        graph = Graph().parse(data=json.dumps(document), format="json-ld")
    dcat = "http://www.w3.org/ns/dcat#"
    distributions = set(graph.objects(URIRef("urn:ds:levels"), URIRef(dcat + "distribution")))
    assert len(distributions) == 2
    for node in distributions:
        assert (node, RDF.type, URIRef(dcat + "Distribution")) in graph
        assert (node, URIRef(SERVING_MODE), URIRef(ACCUMULATED)) in graph
        assert (node, URIRef(SERVING_MODE), Literal(ACCUMULATED)) not in graph  # an IRI


def test_the_terms_are_in_the_shared_vocabulary() -> None:
    vocabulary = load_vocabulary()
    for term in (SERVING_MODE, DIRECT, ACCUMULATED):
        assert vocabulary.label(term, "ja") and vocabulary.label(term, "en"), term
    graph = vocabulary.graph
    mode_class = URIRef("https://w3id.org/tsunagu/vocab/ServingMode")
    assert {URIRef(DIRECT), URIRef(ACCUMULATED)} <= set(graph.subjects(RDF.type, mode_class))
