"""`policies`, `catalog` and `connector.protocol` stay pure: imports point one way
(vocab <- policies <- catalog <- connector), no I/O frameworks, no clock or randomness."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STDLIB = {
    "__future__",
    "calendar",
    "decimal",
    "functools",
    "importlib.resources",  # package data (pinned JSON-LD contexts), as vocab reads it
    "operator",
    "collections",
    "dataclasses",
    "datetime",
    "enum",
    "json",
    "re",
    "types",
    "typing",
}
ALLOWED = {
    "policies": STDLIB | {"policies", "vocab"},
    # DCAT is RDF: the catalogue writes and reads graphs (rdflib), checks them with SHACL
    # (pyshacl) and reads YAML entries; none of them does I/O of its own here.
    "catalog": STDLIB
    | {"catalog", "policies", "vocab", "importlib", "warnings", "unicodedata", "yaml"}
    | {"rdflib", "rdflib.collection", "rdflib.namespace", "rdflib.term", "pyshacl"},
    "connector/protocol": STDLIB
    | {"urllib.parse", "connector.errors", "connector.protocol", "policies", "catalog", "vocab"},
}
CLOCK_CALLS = {"now", "utcnow", "today", "time", "monotonic", "random", "uuid4", "token_hex"}


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def permitted(name: str, allowed: set[str]) -> bool:
    return any(name == a or name.startswith(a + ".") for a in allowed)


CASES = [(package, path) for package in ALLOWED for path in modules(package)]


def test_the_packages_have_modules() -> None:
    assert {p for p, _ in CASES} == set(ALLOWED)
    assert len(CASES) >= 20


@pytest.mark.parametrize(
    ("package", "path"), CASES, ids=[str(p.relative_to(ROOT)) for _, p in CASES]
)
def test_imports_and_calls(package: str, path: Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    wrong = sorted(n for n in imported(tree) if not permitted(n, ALLOWED[package]))
    assert not wrong, f"{path.relative_to(ROOT)} imports {wrong}"
    calls = {
        node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
    }
    assert not calls & CLOCK_CALLS, f"{path.relative_to(ROOT)} reads a clock or randomness"
