"""The crews a department sends (`deploy/demo-city/crews.csv` in the demo city; `DISPATCH_CREWS_PATH` elsewhere).

A crew belongs to one department; jobs are assigned to it (`workorder.crew_assigned`) and its members see exactly
those (`Actor.may_act_on`). The file is the utility's own list, read once at start-up and checked as it loads:
every problem is listed with its line, so an operator fixes the file in one go. Pure: no database, no I/O besides
reading the file.

    crew,department,name_zh,name_en
    repair-crew-1,repair,维修一班,Repair crew 1
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from services.dispatch.model import Crew
from shared.contracts import Department

#: The demo city's crews, used when no path is configured (and the file exists: an image without it has none).
DEMO_CREWS = Path(__file__).resolve().parents[2] / "deploy" / "demo-city" / "crews.csv"
COLUMNS = ("crew", "department", "name_zh", "name_en")
_CREW_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class CrewListError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Crews:
    """Every crew by its id, in the file's order."""

    by_id: dict[str, Crew]

    def get(self, crew: str) -> Crew | None:
        return self.by_id.get(crew)

    def of(self, department: str | None = None) -> list[Crew]:
        """The crews of one department (every crew when None), in the file's order."""
        return [c for c in self.by_id.values() if department is None or c.department == department]


def parse_crews(text: str) -> Crews:
    """The crews of a CSV text (header `crew,department,name_zh,name_en`); CrewListError lists every problem."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise CrewListError([f"header: missing column(s) {', '.join(missing)}"])
    departments = {d.value for d in Department}
    crews: dict[str, Crew] = {}
    problems: list[str] = []
    for line, row in enumerate(reader, start=2):
        crew, department = (row.get("crew") or "").strip(), (row.get("department") or "").strip()
        name_zh, name_en = (row.get("name_zh") or "").strip(), (row.get("name_en") or "").strip()
        if not _CREW_ID.match(crew):
            problems.append(f"line {line}: crew {crew!r} must be lower-case letters, digits, '-' or '_'")
        elif crew in crews:
            problems.append(f"line {line}: crew {crew!r} is listed twice")
        if department not in departments:
            problems.append(f"line {line}: department {department!r} is not one of {', '.join(sorted(departments))}")
        if not name_zh or not name_en:
            problems.append(f"line {line}: a crew needs name_zh and name_en")
        if not problems:
            crews[crew] = Crew(crew=crew, department=department, name_zh=name_zh, name_en=name_en)
    if problems:
        raise CrewListError(problems)
    return Crews(crews)


def load_crews(path: str | Path | None = None) -> Crews:
    """The crews at `path`, else the demo city's when that file exists, else none."""
    chosen = Path(path) if path else DEMO_CREWS
    if path is None and not chosen.exists():
        return Crews({})
    return parse_crews(chosen.read_text(encoding="utf-8-sig"))
