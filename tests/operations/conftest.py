"""A provider and a consumer on loopback, on SQLite and (when configured) PostgreSQL, with a
clock the tests move."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from connector.clock import ManualClock
from connector.demo.localspace import LocalDataspace

COUNCIL = "urn:tsunagu:council:ops"


@pytest.fixture
async def space(
    tmp_path: Path, database_for: Callable[[str], str | None], clock: ManualClock
) -> AsyncIterator[LocalDataspace]:
    async with LocalDataspace(tmp_path, database_url_for=database_for, clock=clock) as space:
        await space.start_authority()
        await space.add("provider", "A市", municipality_code="202151", memberships=[COUNCIL])
        await space.add("consumer", "C村", municipality_code="204323", memberships=[COUNCIL])
        yield space
