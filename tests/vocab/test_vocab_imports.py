"""`vocab` is a pure library: no web, database or upper-layer imports, no clock, no randomness."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import vocab.vocabulary

# `import vocab` alone can resolve to a namespace package spanning tests/vocab when pytest puts
# tests/ on sys.path ahead of the repository; a submodule's file always locates the real one.
PACKAGE = Path(vocab.vocabulary.__file__).parent
FORBIDDEN_MODULES = {
    "fastapi",
    "starlette",
    "httpx",
    "uvicorn",
    "sqlmodel",
    "sqlalchemy",
    "connector",
    "catalog",
    "policies",
    "random",
    "secrets",
}
FORBIDDEN_CALLS = {("datetime", "now"), ("datetime", "today"), ("date", "today"), ("time", "time")}


def modules() -> list[Path]:
    found = sorted(PACKAGE.rglob("*.py"))
    assert len(found) > 15
    return found


def test_vocab_imports_nothing_above_or_beside_it() -> None:
    for path in modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN_MODULES, f"{path.name} imports {name}"


def test_vocab_reads_no_clock() -> None:
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                owner = node.func.value
                if isinstance(owner, ast.Name):
                    assert (owner.id, node.func.attr) not in FORBIDDEN_CALLS, path.name


def test_the_check_sees_a_forbidden_import() -> None:
    tree = ast.parse("from connector.app import build\nimport fastapi.routing\n")
    seen = [
        n.module if isinstance(n, ast.ImportFrom) else n.names[0].name
        for n in ast.walk(tree)
        if isinstance(n, ast.Import | ast.ImportFrom)
    ]
    assert [s.split(".")[0] in FORBIDDEN_MODULES for s in seen if s] == [True, True]


def test_the_public_surface_imports_and_lists_what_it_exports() -> None:
    spec = importlib.util.spec_from_file_location("vocab_public_surface", PACKAGE / "__init__.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    exported = module.__all__
    assert exported == sorted(exported)
    assert all(hasattr(module, name) for name in exported)
    for needed in (
        "convert_and_classify",
        "load_stations",
        "classify_observations",
        "bulk_convert",
    ):
        assert needed in exported
