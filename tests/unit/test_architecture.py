"""The shape issue 22 asks for, checked on the code itself: small functions and classes, one door that commits,
routes without `try`. Each check is parametrised per package or service, so a failure names the one to fix.

(The layering is `lint-imports`'s job, the types mypy's: both run in `make test` beside this. What import-linter
cannot see, a folder of modules without `__init__.py`, is checked here.)
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from operations import sizes

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(path.name for path in (ROOT / "services").iterdir() if (path / "__init__.py").is_file())

#: Top packages held to the size limits (`python -m operations.sizes` lists what is over).
SIZED = ("shared", "services", "operations")

#: Decorator attributes that declare a FastAPI route (`@router.get(...)`, `@app.post(...)`, ...).
ROUTE_DECORATORS = {"get", "post", "put", "patch", "delete", "head", "options", "api_route", "websocket", "route"}


def _modules(package: Path) -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(package.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _where(path: Path, node: ast.stmt | ast.expr) -> tuple[str, int]:
    return str(path.relative_to(ROOT)), node.lineno


def _listed(found: list[tuple[str, int]]) -> str:
    return "\n".join(f"{path}:{line}" for path, line in sorted(found))


@pytest.mark.parametrize("package", SIZED)
def test_no_function_over_60_lines_and_no_class_over_300(package: str) -> None:
    found = sizes.oversized([ROOT / package])
    assert not found, "split by meaning:\n" + "\n".join(str(item) for item in found)


def _commits(tree: ast.Module) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "commit"
            and not node.args
            and not node.keywords
        ):
            yield node


@pytest.mark.parametrize("service", SERVICES)
def test_no_service_commits_the_door_in_shared_does(service: str) -> None:
    """`shared.handling.Door` is the only place a unit of work commits; handlers raise to roll back."""
    found = [_where(path, call) for path, tree in _modules(ROOT / "services" / service) for call in _commits(tree)]
    assert not found, "`.commit()` outside the door:\n" + _listed(found)


def _defines_routes(tree: ast.Module) -> bool:
    """A module that makes an `APIRouter`, or decorates a function as a route of an app or router."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _named(node.func) == "APIRouter":
            return True
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if isinstance(target, ast.Attribute) and target.attr in ROUTE_DECORATORS:
                    return True
    return False


def _named(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


@pytest.mark.parametrize("service", SERVICES)
def test_no_route_module_catches_errors(service: str) -> None:
    """Routes let `DomainError`s through: shared/http/problems.py maps each to its problem answer, once."""
    found = [
        _where(path, node)
        for path, tree in _modules(ROOT / "services" / service)
        if _defines_routes(tree)
        for node in ast.walk(tree)
        if isinstance(node, ast.Try | ast.TryStar)
    ]
    assert not found, "`try` in a module with routes:\n" + _listed(found)


@pytest.mark.parametrize("package", ["shared", *(f"services/{service}" for service in SERVICES)])
def test_every_folder_of_python_is_a_package(package: str) -> None:
    """import-linter sees only packages: modules in a folder without `__init__.py` would sit outside every layer
    of an exhaustive contract, and a back-import from them would pass unseen."""
    folders = {path.parent for path in (ROOT / package).rglob("*.py")}
    found = sorted(str(folder.relative_to(ROOT)) for folder in folders if not (folder / "__init__.py").is_file())
    assert not found, "folders without __init__.py:\n" + "\n".join(found)


def test_the_route_finder_sees_routes() -> None:
    """The check above is only as good as its finder: it must see both ways of declaring a route."""
    assert _defines_routes(ast.parse("from fastapi import APIRouter\nrouter = APIRouter()\n"))
    assert _defines_routes(ast.parse("@app.get('/x')\nasync def x():\n    return 1\n"))
    assert not _defines_routes(ast.parse("def f():\n    try:\n        pass\n    finally:\n        pass\n"))


def test_the_size_check_sees_decorators_and_docstrings(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(57))
    source = tmp_path / "m.py"
    source.write_text(f'@decorator\ndef f():\n    """Why."""\n{body}\n')  # 1 + 1 + 1 + 57 = 60 lines: allowed
    assert sizes.oversized([source]) == []
    source.write_text(f'@decorator\n@another\ndef f():\n    """Why."""\n{body}\n')  # 61 lines
    assert [(item.name, item.lines) for item in sizes.oversized([source])] == [("f", 61)]
