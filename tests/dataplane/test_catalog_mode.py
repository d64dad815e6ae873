"""A peer reading the catalogue over DSP learns whether each dataset is served directly from
the owner's system or from the provider's accumulation buffer, and nothing of where."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from catalog.model import ACCUMULATED, DIRECT, SERVING_MODE
from connector.control.peers import provider_base
from connector.demo.localspace import LocalDataspace
from tests.conftest import Validate

from .conftest import publish

pytestmark = pytest.mark.anyio

SECRET_TOPIC = "basin/a/secret-gateway-7/level"
SECRET_URL = "http://gateway.a-city.example:8080/api/levels"
SECRET_BROKER = "broker.a-city.example"


def modes_of(catalog: dict[str, Any]) -> dict[str, set[str]]:
    return {
        d["@id"]: {dist[SERVING_MODE]["@id"] for dist in d["distribution"]}
        for d in catalog["dataset"]
    }


async def test_the_catalogue_states_each_datasets_serving_mode(
    space: LocalDataspace, tmp_path: Path, validate: Validate
) -> None:
    levels = tmp_path / "levels.csv"
    levels.write_text("station,level_m\n上流,1.42\n")
    await publish(space, "urn:test:file", {"type": "file", "path": str(levels)})
    await publish(space, "urn:test:mqtt-live", {"type": "mqtt", "host": SECRET_BROKER,
                                                 "topic": SECRET_TOPIC})  # fmt: skip
    await publish(space, "urn:test:mqtt-buffer", {"type": "mqtt", "host": SECRET_BROKER,
                                                  "topic": SECRET_TOPIC, "accumulate": {"size": 50}})  # fmt: skip
    await publish(space, "urn:test:http-buffer", {"type": "http", "baseUrl": SECRET_URL,
                                                  "headers": {"X-Api-Key": "owner-secret"},
                                                  "accumulate": {"intervalSeconds": 60}})  # fmt: skip
    provider, consumer = space["provider"], space["consumer"].connector

    # What the provider answers a CatalogRequestMessage, as the consumer receives it.
    base = await provider_base(consumer.resolver, consumer.outbound, provider.did)
    raw = await consumer.dispatcher.get_json(
        f"{base}/catalog/request",
        audience=provider.did,
        body={
            "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
            "@type": "CatalogRequestMessage",
            "filter": [],
        },
    )
    validate(raw, "catalog/catalog-schema.json")
    assert modes_of(raw) == {
        "urn:test:file": {DIRECT},
        "urn:test:mqtt-live": {DIRECT},
        "urn:test:mqtt-buffer": {ACCUMULATED},
        "urn:test:http-buffer": {ACCUMULATED},
    }
    text = json.dumps(raw, ensure_ascii=False)
    for secret in (SECRET_TOPIC, SECRET_URL, SECRET_BROKER, "owner-secret", str(levels)):
        assert secret not in text  # the mode is stated, the data address is not

    # The consumer operator's view of the peer's catalogue, parsed and written again.
    seen = await space["consumer"].client.call("GET", "/catalog", params={"provider": provider.did})
    assert modes_of(seen) == modes_of(raw)

    # A single dataset (DatasetRequest) says the same, with its DataService inline.
    standalone = await consumer.dispatcher.get_json(
        f"{base}/catalog/datasets/urn:test:mqtt-buffer", audience=provider.did
    )
    validate(standalone, "catalog/dataset-schema.json")
    assert {d[SERVING_MODE]["@id"] for d in standalone["distribution"]} == {ACCUMULATED}
