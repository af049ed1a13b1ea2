"""Imports point one way, down the layers; no package imports upward and no module is in a circle.

schemas <- providers <- config <- redisconn <- store <- runs <- worker <- tasks <- producer
<- cli, web. sandbox stands in for the outside world: it imports schemas at most.
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = [
    "schemas",
    "providers",
    "config",
    "redisconn",
    "store",
    "runs",
    "worker",
    "tasks",
    "producer",
]
OURS = {*LAYERS, "cli", "web", "sandbox"}
ALLOWED = {name: set(LAYERS[:index]) for index, name in enumerate(LAYERS)} | {
    "cli": set(LAYERS) | {"sandbox", "web"},
    "web": set(LAYERS),
    "sandbox": {"schemas"},
}


def module_name(path: Path) -> str:
    """The dotted module name of ``path`` under the project root."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """The modules of ours that ``path`` imports, at any depth of the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.split(".")[0] in OURS}


def our_modules() -> dict[str, set[str]]:
    """Each module of ours and the modules of ours it imports."""
    paths = [path for package in OURS for path in (ROOT / package).rglob("*.py")]
    graph = {module_name(path): imported_modules(path) for path in paths}
    return {name: {d for d in deps if d in graph and d != name} for name, deps in graph.items()}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_lower_layers(package):
    wrong = {
        f"{module} imports {dep}"
        for module, deps in our_modules().items()
        if module.split(".")[0] == package
        for dep in deps
        if dep.split(".")[0] not in ALLOWED[package] | {package}
    }
    assert not wrong, sorted(wrong)


def test_no_module_imports_in_a_circle():
    graph = our_modules()
    # a package's __init__ re-exporting its modules is not a circle: those modules never import it
    edges = {
        name: {d for d in deps if not name.startswith(f"{d}.")} for name, deps in graph.items()
    }
    try:
        tuple(TopologicalSorter(edges).static_order())
    except CycleError as error:
        pytest.fail(f"import circle: {' -> '.join(error.args[1])}")


def test_every_package_has_a_layer():
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")} - {"tests", "bench"}
    assert packages == set(ALLOWED)
