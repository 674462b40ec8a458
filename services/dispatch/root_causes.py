"""The root-cause catalogue (`root_causes.toml`): per department, the causes a resolution may name, each a stable
code with zh and en labels. Free text could never be summarised ("frequent causes" is a count by code), so a
resolution picks a code and says the rest in a note.

Checked when it loads, like the classification and incident rules: every department has entries and an
`<department>.other`, every code starts with its department and is unique, every label is there.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from shared.contracts import Department, RootCause

DEFAULT_PATH = Path(__file__).with_name("root_causes.toml")
#: The entry a department files what fits no other entry under (and department systems' free text).
OTHER = "other"


class RootCauseCatalogueError(ValueError):
    """The catalogue file is wrong; the message names the entry."""


@dataclass(frozen=True)
class RootCauseEntry:
    code: str
    department: Department
    label_zh: str
    label_en: str

    def as_contract(self) -> RootCause:
        return RootCause(code=self.code, label_zh=self.label_zh, label_en=self.label_en)


@dataclass(frozen=True)
class RootCauseCatalogue:
    entries: tuple[RootCauseEntry, ...]

    def of(self, department: Department | str) -> tuple[RootCauseEntry, ...]:
        """A department's entries, in the catalogue's order."""
        return tuple(e for e in self.entries if e.department == department)

    def codes(self, department: Department | str) -> list[str]:
        return [e.code for e in self.of(department)]

    def find(self, department: Department | str, code: str) -> RootCauseEntry | None:
        """The department's entry with this code; None for an unknown code or another department's."""
        return next((e for e in self.of(department) if e.code == code), None)

    def other(self, department: Department | str) -> RootCauseEntry:
        entry = self.find(department, f"{Department(department).value}.{OTHER}")
        assert entry is not None, "checked when the catalogue loaded"
        return entry


def parse_root_causes(document: dict[str, object]) -> RootCauseCatalogue:
    """The catalogue from its TOML document, every rule checked (raises RootCauseCatalogueError)."""
    unknown = sorted(set(document) - {d.value for d in Department})
    if unknown:
        raise RootCauseCatalogueError(f"unknown department(s): {', '.join(unknown)}")
    entries: list[RootCauseEntry] = []
    seen: set[str] = set()
    for department in Department:
        listed = document.get(department.value)
        if not isinstance(listed, list) or not listed:
            raise RootCauseCatalogueError(f"[[{department.value}]]: the department lists no root causes")
        for n, raw in enumerate(listed, start=1):
            where = f"[[{department.value}]] #{n}"
            if not isinstance(raw, dict) or set(raw) != {"code", "zh", "en"}:
                raise RootCauseCatalogueError(f"{where}: an entry has exactly code, zh and en")
            code, zh, en = (str(raw[k]).strip() for k in ("code", "zh", "en"))
            if not code.startswith(f"{department.value}.") or code == f"{department.value}.":
                raise RootCauseCatalogueError(f"{where}: code {code!r} must start with {department.value!r}.")
            if code in seen:
                raise RootCauseCatalogueError(f"{where}: code {code!r} is listed twice")
            if not zh or not en:
                raise RootCauseCatalogueError(f"{where}: {code} needs both a zh and an en label")
            seen.add(code)
            entries.append(RootCauseEntry(code, department, zh, en))
        if f"{department.value}.{OTHER}" not in seen:
            raise RootCauseCatalogueError(f"[[{department.value}]]: needs a {department.value}.{OTHER} entry")
    return RootCauseCatalogue(tuple(entries))


def load_root_causes(path: str | Path | None = None) -> RootCauseCatalogue:
    """The catalogue at `path`, else DISPATCH_ROOT_CAUSES_PATH, else the shipped one."""
    chosen = Path(path or os.environ.get("DISPATCH_ROOT_CAUSES_PATH") or DEFAULT_PATH)
    with chosen.open("rb") as f:
        return parse_root_causes(tomllib.load(f))
