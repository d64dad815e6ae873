"""The official DSP 2025-1 schemas as a validator, read from ../shared/dsp (never copied)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft201909Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT201909

SCHEMA_BASE = "https://w3id.org/dspace/2025/1/"

Validate = Callable[[Any, str], None]


@pytest.fixture(scope="session")
def dsp_dir(shared_dir: Path) -> Path:
    return shared_dir / "dsp"


@pytest.fixture(scope="session")
def schema_registry(dsp_dir: Path) -> Registry[Any]:
    resources = []
    for path in sorted(dsp_dir.glob("*/*-schema.json")):
        # MANIFEST.md defect 1: three schemas write `#definitions/...` for `#/definitions/...`.
        contents = json.loads(path.read_text().replace("#definitions/", "#/definitions/"))
        assert contents["$id"] == SCHEMA_BASE + path.relative_to(dsp_dir).as_posix()
        resource = Resource.from_contents(contents, default_specification=DRAFT201909)
        resources.append((contents["$id"], resource))
    assert len(resources) == 26  # every schema in the folder
    return Registry().with_resources(resources)


@pytest.fixture(scope="session")
def validate(schema_registry: Registry[Any]) -> Validate:
    """`validate(instance, "negotiation/contract-request-message-schema.json")`."""

    def check(instance: Any, schema: str) -> None:
        contents = schema_registry[SCHEMA_BASE + schema].contents
        Draft201909Validator(contents, registry=schema_registry).validate(instance)

    return check
