"""No package imports one above it (docs/design.md, the code map): read from the source, lazy imports too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# package -> the packages it must never import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "monitor/storage": (
        "monitor.service",
        "monitor.read",
        "monitor.cli",
        "api",
        "dashboards",
        "monitor.collectors",
    ),
    "monitor/read": ("monitor.service", "monitor.cli", "api", "dashboards", "monitor.collectors"),
    "monitor/service": ("monitor.cli", "api", "dashboards"),
    "monitor/classify": (
        "monitor.storage",
        "monitor.service",
        "monitor.read",
        "monitor.cli",
        "api",
        "dashboards",
    ),
    "monitor/collectors": ("monitor.service", "monitor.read", "monitor.cli", "api", "dashboards"),
    "monitor/alerts": ("monitor.service", "monitor.cli", "api", "dashboards"),
    "monitor/scoring": ("monitor.service", "monitor.cli", "api", "dashboards"),
    "api": ("dashboards", "monitor.cli", "monitor.collectors", "monitor.scheduler"),
    "dashboards": ("monitor.cli", "monitor.collectors", "monitor.scheduler"),
}


def _imports(path: Path) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_nothing_above_it(package: str) -> None:
    banned = FORBIDDEN[package]
    offending = [
        f"{path.relative_to(REPO)}:{line} imports {name}"
        for path in sorted((REPO / package).rglob("*.py"))
        for line, name in _imports(path)
        if any(name == b or name.startswith(b + ".") for b in banned)
    ]
    assert offending == []
