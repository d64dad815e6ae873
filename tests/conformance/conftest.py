"""The schema fixtures (`dsp_dir`, `schema_registry`, `validate`) live in tests/conftest.py,
so the end-to-end tests can check what real connectors send as well."""

from __future__ import annotations

from tests.conftest import SCHEMA_BASE, Validate

__all__ = ["SCHEMA_BASE", "Validate"]
