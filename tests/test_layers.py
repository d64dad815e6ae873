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


PACKAGES = ("vocab", "policies", "catalog", "connector")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(path: Path, modules: set[str]) -> set[str]:
    """Our modules that `path` imports when it runs: deferred imports inside functions count,
    imports under `if TYPE_CHECKING:` do not (they never run)."""
    tree = ast.parse(path.read_text(), str(path))
    type_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for inner in ast.walk(node)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in modules else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found & modules


def _import_graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}
    names = set(files)
    return {name: _runtime_imports(path, names) - {name} for name, path in files.items()}


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for nxt in successors:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        circles.append(sorted(component))
    return circles


def test_no_module_imports_itself_through_others() -> None:
    assert _circles(_import_graph()) == []


def test_connector_sub_packages_import_one_way() -> None:
    """`connector/api` <-> `connector/app.py` or `control` <-> `dataplane` would be a circle
    between rooms even where no two modules form one."""

    def room(module: str) -> str:
        return ".".join(module.split(".")[:2])

    rooms: dict[str, set[str]] = {}
    for module, imported in _import_graph().items():
        rooms.setdefault(room(module), set()).update(
            room(other) for other in imported if room(other) != room(module)
        )
    assert _circles(rooms) == []


def test_the_circle_finder_finds_circles() -> None:
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
