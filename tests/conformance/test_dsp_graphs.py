"""JSON-LD view: our output means the same RDF graph as the spec's examples.

The pinned contexts in ../shared/dsp/context are inlined (the ODRL profile `@import`ed into
the type-scoped contexts by hand), so rdflib never fetches anything.
"""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic

from catalog.dsp import catalog_to_json, dataset_to_json, parse_catalog, parse_dataset
from catalog.model import Catalog, DataService, Dataset, Distribution
from connector.protocol.messages import (
    MESSAGE_TYPES,
    ContractNegotiationEventMessage,
    NegotiationEventType,
    parse_message,
)
from policies.odrl import Constraint, Operator, Policy, Rule

DSP = Path(__file__).resolve().parents[2].parent / "shared" / "dsp"
MODELS = {m.TYPE: m for m in MESSAGE_TYPES}
DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCT = Namespace("http://purl.org/dc/terms/")
ODRL = Namespace("http://www.w3.org/ns/odrl/2/")
DSPACE = Namespace("https://w3id.org/dspace/2025/1/")


@pytest.fixture(scope="module")
def context(dsp_dir: Path) -> dict[str, Any]:
    dspace: dict[str, Any] = json.loads((dsp_dir / "context/dspace.jsonld").read_text())["@context"]
    odrl: dict[str, Any] = json.loads((dsp_dir / "context/odrl.jsonld").read_text())["@context"]
    for term in dspace.values():
        scoped = term.get("@context") if isinstance(term, dict) else None
        if (
            scoped
            and scoped.pop("@import", None) == "https://w3id.org/dspace/2025/1/odrl-profile.jsonld"
        ):
            term["@context"] = {**odrl, **scoped}
    return dspace


def graph(document: dict[str, Any], context: dict[str, Any]) -> Graph:
    document = copy.deepcopy(document)
    assert document["@context"] == ["https://w3id.org/dspace/2025/1/context.jsonld"]
    document["@context"] = [context]
    with warnings.catch_warnings():
        # rdflib 7.6's own JSON-LD parser goes through its deprecated ConjunctiveGraph API.
        warnings.filterwarnings(
            "ignore", "(ConjunctiveGraph|Dataset.default_context) is deprecated", DeprecationWarning
        )
        return Graph().parse(
            data=json.dumps(document), format="json-ld", base="https://base.example/"
        )


EXAMPLES = sorted(
    p.relative_to(DSP).as_posix()
    for p in DSP.glob("*/example/*.json")
    if "did-service" not in p.name and p.name != "protocol-version.json"  # the last has no @context
)


def ours(data: dict[str, Any]) -> dict[str, Any]:
    kind = data["@type"]
    if kind == "Catalog":
        return catalog_to_json(parse_catalog(data))
    if kind == "Dataset":
        return dataset_to_json(parse_dataset(data), root=True)
    return parse_message(data, MODELS[kind]).to_json()


@pytest.mark.parametrize("example", EXAMPLES)
def test_round_trip_is_the_same_graph(example: str, context: dict[str, Any]) -> None:
    original = json.loads((DSP / example).read_text())
    expected = graph(original, context)
    assert len(expected) >= 1  # at least the rdf:type triple
    assert isomorphic(graph(ours(original), context), expected)


def test_a_different_message_is_a_different_graph(context: dict[str, Any]) -> None:
    # Guards against a comparison that cannot fail.
    pids = {"provider_pid": "urn:p", "consumer_pid": "urn:c"}
    accepted = ContractNegotiationEventMessage(**pids, event_type=NegotiationEventType.ACCEPTED)
    finalized = ContractNegotiationEventMessage(**pids, event_type=NegotiationEventType.FINALIZED)
    g = graph(accepted.to_json(), context)
    assert (None, DSPACE.eventType, DSPACE.ACCEPTED) in g
    assert not isomorphic(g, graph(finalized.to_json(), context))


def test_our_catalogue_terms_expand_as_intended(context: dict[str, Any]) -> None:
    service = DataService(id="urn:svc:1", endpoint_url="https://a.example/dsp/2025-1")
    offer = Policy(kind="Offer", uid="urn:offer:1",
                   permissions=(Rule("use", (Constraint("purpose", Operator.EQ, "research"),)),))  # fmt: skip
    dataset = Dataset(
        id="urn:ds:1", title="河川水位", description="10-minute readings", keywords=("river",),
        themes=("https://tsunagu.example/theme/disaster",), offers=(offer,),
        distributions=(Distribution("HttpData-PULL", service.id),),
    )  # fmt: skip
    catalog = Catalog(
        id="urn:cat:1", participant_id="did:web:a.example", datasets=(dataset,), services=(service,)
    )
    g = graph(catalog_to_json(catalog), context)
    ds, cat = URIRef("urn:ds:1"), URIRef("urn:cat:1")
    assert (cat, DSPACE.participantId, URIRef("did:web:a.example")) in g
    assert (cat, DCAT.dataset, ds) in g
    assert (cat, DCAT.service, URIRef("urn:svc:1")) in g
    assert (ds, DCT.title, Literal("河川水位")) in g
    assert (ds, DCT.description, Literal("10-minute readings")) in g
    assert (ds, DCAT.keyword, Literal("river")) in g
    assert (ds, DCAT.theme, URIRef("https://tsunagu.example/theme/disaster")) in g
    assert (ds, ODRL.hasPolicy, URIRef("urn:offer:1")) in g
    assert (URIRef("urn:offer:1"), ODRL.permission, None) in g
    assert (None, ODRL.operator, ODRL.eq) in g
    # The DSP context does not make accessService @id-typed: the id string is a literal.
    assert (None, DCAT.accessService, Literal("urn:svc:1")) in g
    assert (URIRef("urn:svc:1"), DCAT.endpointURL, Literal("https://a.example/dsp/2025-1")) in g
