"""Several full connectors on loopback ports, each with its own database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from connector.demo.localspace import LocalDataspace, Participant
from tests.conftest import with_migrated_sqlite

COUNCIL = "urn:tsunagu:council:test-basin"


def open_offer(offer_id: str) -> dict[str, Any]:
    return {"@type": "Offer", "@id": offer_id, "permission": [{"action": "use"}]}


def members_offer(offer_id: str) -> dict[str, Any]:
    """Use by municipalities of the council only."""
    return {
        "@type": "Offer",
        "@id": offer_id,
        "permission": [
            {
                "action": "use",
                "constraint": [
                    {"leftOperand": "role", "operator": "eq", "rightOperand": "municipality"},
                    {"leftOperand": "memberships", "operator": "hasPart", "rightOperand": COUNCIL},
                ],
            }
        ],
    }


async def publish(
    provider: Participant, dataset_id: str, *offers: dict[str, Any], approval: bool = False
) -> dict[str, Any]:
    body = {
        "id": dataset_id,
        "title": f"dataset {dataset_id}",
        "data_address": {"type": "HttpData", "baseUrl": "http://owner.invalid/api"},
        "offers": [{"policy": o, "requires_approval": approval} for o in offers],
    }
    result: dict[str, Any] = await provider.client.call("POST", "/datasets", json=body)
    return result


async def _space(
    tmp_path: Path,
    database_for: Callable[[str], str | None],
    migrated: Path,
    *,
    background: bool,
) -> AsyncIterator[LocalDataspace]:
    urls = with_migrated_sqlite(tmp_path, migrated, database_for)
    async with LocalDataspace(tmp_path, database_url_for=urls, background=background) as space:
        await space.start_authority()
        await space.add("provider", "A市", municipality_code="202151", memberships=[COUNCIL])
        await space.add("consumer", "C村", municipality_code="204323", memberships=[COUNCIL])
        yield space


@pytest.fixture
async def space(
    tmp_path: Path, database_for: Callable[[str], str | None], migrated_sqlite: Path
) -> AsyncIterator[LocalDataspace]:
    """Provider A市 and consumer C村 with event-driven runners."""
    async for s in _space(tmp_path, database_for, migrated_sqlite, background=True):
        yield s


@pytest.fixture
async def stepped(
    tmp_path: Path, database_for: Callable[[str], str | None], migrated_sqlite: Path
) -> AsyncIterator[LocalDataspace]:
    """The same, but runners only move when the test calls `run_once()`."""
    async for s in _space(tmp_path, database_for, migrated_sqlite, background=False):
        yield s
