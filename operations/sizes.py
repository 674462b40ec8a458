"""Functions longer than 60 lines and classes longer than 300, in services/ and shared/: `make test` fails on any.

    python -m operations.sizes [paths...]     # default: services shared

A long function is several steps that deserve names; a long class is several responsibilities. A function's
length runs from its first decorator to its last line, docstring and nested functions included (a nested
function is listed on its own too when it is long itself). Module-level data — tables, schemas, constants — is
an assignment, not a function or a class, so it is never counted. A class that is genuinely a data table goes in
`ALLOWED` with the reason; nothing else does.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

FUNCTION_LIMIT = 60
CLASS_LIMIT = 300
DEFAULT_PATHS = ("services", "shared")

#: Classes allowed past the limit, by "path:QualifiedName", each with why it is data rather than behaviour.
ALLOWED: dict[str, str] = {}


@dataclass(frozen=True)
class Oversized:
    """One function or class past its limit."""

    path: Path
    line: int
    kind: str  # "function" or "class"
    name: str  # qualified within the module: Class.method, outer.inner
    lines: int

    @property
    def limit(self) -> int:
        return CLASS_LIMIT if self.kind == "class" else FUNCTION_LIMIT

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind} {self.name} is {self.lines} lines (limit {self.limit})"


def oversized(paths: Iterable[str | Path]) -> list[Oversized]:
    """Every function and class past its limit in the Python files under `paths`, less `ALLOWED`."""
    found = [item for source in _python_files(paths) for item in _oversized_in(source)]
    return [item for item in found if f"{item.path.as_posix()}:{item.name}" not in ALLOWED]


def _python_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    for path in map(Path, paths):
        if path.is_file() and path.suffix == ".py":
            yield path
        elif path.is_dir():
            yield from sorted(path.rglob("*.py"))


def _oversized_in(source: Path) -> Iterator[Oversized]:
    tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    for node, name in _definitions(tree.body, prefix=""):
        kind = "class" if isinstance(node, ast.ClassDef) else "function"
        lines = _span(node)
        if lines > (CLASS_LIMIT if kind == "class" else FUNCTION_LIMIT):
            yield Oversized(source, _first_line(node), kind, name, lines)


Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def _definitions(body: Sequence[ast.stmt], prefix: str) -> Iterator[tuple[Definition, str]]:
    """Each function and class with its qualified name, nested ones included, however deep (also in `if`s)."""
    for node in body:
        if isinstance(node, Definition):
            name = f"{prefix}{node.name}"
            yield node, name
            yield from _definitions(node.body, prefix=f"{name}.")
        else:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    yield from _definitions([child], prefix)


def _first_line(node: Definition) -> int:
    return min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])


def _span(node: Definition) -> int:
    """Lines from the first decorator to the last line of the body."""
    return (node.end_lineno or node.lineno) - _first_line(node) + 1


def main(argv: Sequence[str]) -> int:
    found = oversized(argv or DEFAULT_PATHS)
    for item in found:
        print(item)
    if found:
        print(
            f"{len(found)} past the limits ({FUNCTION_LIMIT} lines a function, {CLASS_LIMIT} a class): "
            "split them by meaning",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
