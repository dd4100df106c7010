"""The packages' imports point one way, as the README's Layout section draws them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Each package and the packages of the house it may import (besides itself).
ALLOWED = {
    "verifiers": set(),
    "core": {"verifiers"},
    "storage": {"core"},
    "policy": {"core", "storage"},
    "gateway": {"core", "storage", "policy", "verifiers"},
    "relay": {"core", "storage", "policy", "verifiers"},
    "hookgate": {"core", "storage", "policy", "verifiers", "gateway", "relay"},
}


def imported_packages(package: str) -> dict[str, set[str]]:
    """For each module of ``package``, the house packages it imports."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = (names & set(ALLOWED)) - {package}
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_point_one_way(package: str) -> None:
    """No module imports a package above its own (the gateway never imports the relay)."""
    wrong = {
        module: sorted(names - ALLOWED[package])
        for module, names in imported_packages(package).items()
        if names - ALLOWED[package]
    }
    assert {} == wrong
