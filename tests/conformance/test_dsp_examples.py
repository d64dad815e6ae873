"""Every example of the spec parses with our models and comes back schema-valid.

Round trips are also checked for fidelity: our output equals the example except where the
example writes something we deliberately omit (ROUND_TRIP_DIFFERENCES).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from catalog.dsp import catalog_to_json, dataset_to_json, parse_catalog, parse_dataset
from connector.protocol.messages import (
    MESSAGE_TYPES,
    parse_message,
    parse_version_response,
    version_document,
)

DSP = Path(__file__).resolve().parents[2].parent / "shared" / "dsp"
# DID-document service entries are not DSP messages; we do not model them.
NOT_MODELLED = {"catalogservice-did-service.json", "dataservice-did-service.json"}
EXAMPLES = sorted(
    p.relative_to(DSP).as_posix()
    for p in DSP.glob("*/example/*.json")
    if p.name not in NOT_MODELLED
)
# Keys of an example we deliberately do not write back: an empty filter is absent, not [].
ROUND_TRIP_DIFFERENCES = {"catalog/example/catalog-request-message.json": ["filter"]}
MODELS = {m.TYPE: m for m in MESSAGE_TYPES}


def schema_for(example: str) -> str:
    folder, _, name = example.split("/")
    stem = name.removesuffix(".json").removesuffix("_initial").removesuffix("-full")
    if stem in ("catalog", "nested-catalog"):
        stem = "catalog"
    return f"{folder}/{stem}-schema.json"


def round_trip(data: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    kind = data.get("@type")
    if kind in MODELS:
        return lambda: parse_message(data, MODELS[kind]).to_json()
    if kind == "Catalog":
        return lambda: catalog_to_json(parse_catalog(data))
    if kind == "Dataset":
        return lambda: dataset_to_json(parse_dataset(data), root=True)
    if "protocolVersions" in data:
        return lambda: version_document(*parse_version_response(data))
    raise AssertionError(f"no model for {kind!r}")


def test_all_examples_are_collected(dsp_dir: Path) -> None:
    # Guards against the parametrised tests below silently running over nothing.
    assert DSP == dsp_dir
    assert len(EXAMPLES) == 25
    assert {e.split("/")[0] for e in EXAMPLES} == {"catalog", "common", "negotiation", "transfer"}


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_is_valid_upstream(example: str, validate: Callable[[Any, str], None]) -> None:
    # The schema set (with the MANIFEST's #definitions fix) accepts the example as it is.
    validate(json.loads((DSP / example).read_text()), schema_for(example))


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_round_trips_to_schema_valid_json(
    example: str, validate: Callable[[Any, str], None]
) -> None:
    original = json.loads((DSP / example).read_text())
    ours = round_trip(copy.deepcopy(original))()
    validate(ours, schema_for(example))
    expected = copy.deepcopy(original)
    for key in ROUND_TRIP_DIFFERENCES.get(example, []):
        del expected[key]
    assert ours == expected


@pytest.mark.parametrize("example", EXAMPLES)
def test_unknown_extra_properties_are_ignored(example: str) -> None:
    original = json.loads((DSP / example).read_text())
    noisy = copy.deepcopy(original)
    noisy["https://example.org/ext#note"] = {"anything": [1, 2]}
    noisy["vendorExtension"] = "ignored"
    for nested in ("offer", "agreement", "dataAddress"):
        if nested in noisy:
            noisy[nested]["vendorExtension"] = True
    assert round_trip(noisy)() == round_trip(original)()
