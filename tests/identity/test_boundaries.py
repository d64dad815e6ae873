"""Project rules about the identity package, checked from the source."""

from __future__ import annotations

import ast
from pathlib import Path

import connector.identity

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("vocab", "policies", "catalog", "connector")


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_only_the_identity_package_imports_pyjwt() -> None:
    offenders = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if path.is_relative_to(ROOT / "connector" / "identity"):
                continue
            if any(name == "jwt" or name.startswith("jwt.") for name in imported_modules(path)):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_public_names_are_exported() -> None:
    exported = connector.identity.__all__
    assert exported == sorted(exported)
    assert all(hasattr(connector.identity, name) for name in exported)
