"""The tests' own layout holds: what tiers share lives in tests/support (or tests/fakes), so no tier imports
another tier's conftest or test modules, and a free port comes from one helper (tests/support/ports.py)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
#: The tiers: folders of tests under tests/, each importing only itself, tests.support and tests.fakes.
TIERS = ("unit", "service", "e2e", "faults", "security", "observability")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def test_no_tier_imports_another_tiers_modules() -> None:
    crossing = []
    for tier in TIERS:
        for path in sorted((TESTS / tier).rglob("*.py")):
            for module in _imports(path):
                parts = module.split(".")
                if len(parts) > 1 and parts[0] == "tests" and parts[1] in TIERS and parts[1] != tier:
                    crossing.append(f"{path.relative_to(TESTS.parent)} imports {module}")
    assert not crossing, "move what tiers share into tests/support:\n" + "\n".join(crossing)


def test_tests_support_imports_no_tier() -> None:
    inward = [
        f"{path.relative_to(TESTS.parent)} imports {module}"
        for folder in ("support", "fakes")
        for path in sorted((TESTS / folder).rglob("*.py"))
        for module in _imports(path)
        if module.split(".")[:2][-1] in TIERS and module.startswith("tests.")
    ]
    assert not inward, "tests/support and tests/fakes are below every tier:\n" + "\n".join(inward)


def test_one_free_port_helper() -> None:
    ports = TESTS / "support" / "ports.py"
    copies = [
        str(path.relative_to(TESTS.parent))
        for path in sorted(TESTS.rglob("*.py"))
        if path != ports
        and path != Path(__file__)
        and any(needle in path.read_text(encoding="utf-8") for needle in ("socket.socket(", "find_free_port"))
    ]
    assert not copies, "take a port from tests.support.ports (free_port, bound_socket):\n" + "\n".join(copies)
