"""The import direction of DESIGN.md: vocab <- policies <- catalog <- connector. The pure
packages never reach for the I/O frameworks or for the packages above them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FRAMEWORKS = {
    "fastapi",
    "starlette",
    "httpx",
    "sqlmodel",
    "sqlalchemy",
    "uvicorn",
    "jwt",
    "aiohttp",
}
FORBIDDEN = {
    "vocab": FRAMEWORKS | {"connector", "policies", "catalog"},
    "policies": FRAMEWORKS | {"connector", "catalog"},
    "catalog": FRAMEWORKS | {"connector"},
}


def imports(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_pure_packages_import_only_downwards(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package} has no modules"
    offending = {
        str(path.relative_to(ROOT)): sorted(imports(path) & FORBIDDEN[package]) for path in files
    }
    assert {k: v for k, v in offending.items() if v} == {}


def test_pyjwt_is_used_only_in_identity() -> None:
    users = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "connector").rglob("*.py"))
        if "jwt" in imports(path) and "identity" not in path.parts
    ]
    assert users == []


# Reading an owner's database is what the data plane's SQL source is for; the connector's own
# persistence stays in connector/store.
OWNER_DATABASE_SOURCES = {"connector/dataplane/sql.py"}


def test_sql_lives_in_the_store() -> None:
    users = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "connector").rglob("*.py"))
        if imports(path) & {"sqlalchemy", "sqlmodel"} and "store" not in path.parts
    ]
    assert set(users) <= OWNER_DATABASE_SOURCES
