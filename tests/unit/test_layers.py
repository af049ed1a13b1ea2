"""Imports point one way: schemas <- providers <- worker <- tasks <- producer <- cli, web."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = {"schemas", "providers", "worker", "tasks", "producer", "cli", "web", "sandbox"}
ALLOWED = {
    "schemas": set(),
    "providers": {"schemas"},
    "worker": {"schemas", "providers"},
    "tasks": {"schemas", "providers", "worker"},
    "producer": {"schemas", "providers", "worker", "tasks"},
    "cli": {"schemas", "providers", "worker", "tasks", "producer", "sandbox", "web"},
    "web": {"schemas", "providers", "worker", "tasks", "producer"},
    "sandbox": {"schemas"},
}


def imported_packages(path: Path) -> set[str]:
    """Our top-level packages that ``path`` imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in names} & OURS
    return found


@pytest.mark.parametrize("package", sorted(p for p in ALLOWED if (ROOT / p).is_dir()))
def test_package_imports_only_lower_layers(package):
    folder = ROOT / package
    wrong = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in folder.rglob("*.py")
        for name in imported_packages(path) - ALLOWED[package] - {package}
    }
    assert not wrong, sorted(wrong)
