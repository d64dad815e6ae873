from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from connector.clock import ManualClock

from .support import Dataspace


@pytest.fixture
async def dataspace(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Dataspace]:
    space = Dataspace(tmp_path, clock)
    yield space
    await space.http.aclose()
