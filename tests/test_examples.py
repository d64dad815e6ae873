"""The recipes' example files: one offer per policy template (each inside tsunagu's policy
profile and equal to what its template makes) and one data address per kind of source."""

from __future__ import annotations

import inspect
import json
import typing
from pathlib import Path

from connector.dataplane.sources import SourceKind, parse_source
from policies import templates
from policies.profile import check_policy

EXAMPLES = Path(__file__).parent.parent / "examples"
OFFERS = EXAMPLES / "offers"
ADDRESSES = EXAMPLES / "dataplane"


def _template_names() -> set[str]:
    return {
        name
        for name, fn in inspect.getmembers(templates, inspect.isfunction)
        if fn.__module__ == templates.__name__ and not name.startswith("_")
    }


def test_every_template_has_an_example_offer_that_is_usable() -> None:
    offers = {p.name: json.loads(p.read_text("utf-8")) for p in OFFERS.glob("*.json")}
    covered = {name.removesuffix(".json").split("-flood")[0].replace("-", "_") for name in offers}
    assert _template_names() <= covered, _template_names() - covered
    ids = [offer["@id"] for offer in offers.values()]
    assert len(set(ids)) == len(ids)  # offer ids are unique on a participant
    for name, offer in offers.items():
        assert check_policy(offer).uid == offer["@id"], name
        assert name in (OFFERS / "README.md").read_text("utf-8")


def test_the_offers_are_what_their_templates_make() -> None:
    made = templates.open_data("urn:example:offer:open-data").to_json()
    assert json.loads((OFFERS / "open-data.json").read_text("utf-8")) == made
    flood = templates.disaster_response(
        "urn:example:offer:flood-alert",
        basin="https://w3id.org/tsunagu/vocab/basin/tsunagu-river",
        alert_level=3,
    ).to_json()
    assert json.loads((OFFERS / "disaster-response-flood-alert.json").read_text("utf-8")) == flood


def test_every_kind_of_source_has_an_example_data_address() -> None:
    kinds = set(typing.get_args(SourceKind))
    seen = set()
    for path in ADDRESSES.glob("*.json"):
        spec = parse_source(json.loads(path.read_text("utf-8")))
        seen.add(spec.kind)
        assert f"$(cat {path.name})" in (ADDRESSES / "README.md").read_text("utf-8")
    assert seen == kinds
