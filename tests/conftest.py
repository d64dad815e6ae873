"""Fixtures shared by every test package."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.clock import ManualClock

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> ManualClock:
    """A fixed, advanceable clock (2026-04-01T09:00:00Z)."""
    return ManualClock()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """`../shared` beside the repository: official schemas, shapes and test vectors."""
    if not SHARED.is_dir():
        pytest.fail(f"../shared not found at {SHARED}; it holds the official data files")
    return SHARED
