"""Reading a staff directory and a rota from CSV or JSON, every bad row named.

Pure: text in, members, rota entries and problems out. An import with any problem changes nothing (the
directory CLI says what to fix), so a half-read file never leaves half a rota on duty.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable

from services.console.model import DirectoryImport, RowProblem, check_rota_staff, rota_entry, staff_member
from shared.http.person import STAFF_ROLES

STAFF_COLUMNS = ("staff_id", "display_name", "display_name_en", "roles", "department", "crew", "contact", "phone")
ROTA_COLUMNS = ("duty", "staff_id", "department", "starts_at", "ends_at")


def read_rows(text: str, name: str, required: Iterable[str]) -> list[dict[str, object]]:
    """Rows of a `.json` file (a list of objects, or `{"items": [...]}`) or a CSV file with a header.

    Raises ValueError when the file as a whole cannot be read (not JSON, missing columns)."""
    if name.lower().endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{name}: not JSON ({exc})") from None
        if isinstance(data, dict) and isinstance(data.get("items"), list):
            data = data["items"]
        if not isinstance(data, list):
            raise ValueError(f"{name}: a JSON list of objects expected")
        return [item if isinstance(item, dict) else {"_invalid": item} for item in data]
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in required if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"{name}: missing columns {missing} (the header names {reader.fieldnames})")
    return [dict(row) for row in reader]


def parse_directory(
    staff_rows: list[dict[str, object]],
    rota_rows: list[dict[str, object]] | None = None,
    *,
    known_staff: Iterable[str] = (),
) -> DirectoryImport:
    """Members and rota entries of an import, or the problem of each bad row (1 = the first data row)."""
    result = DirectoryImport()
    seen: dict[str, int] = {}
    for number, row in enumerate(staff_rows, start=1):
        try:
            if "_invalid" in row:
                raise ValueError("an object with the staff columns expected")
            member = staff_member(row, STAFF_ROLES)
        except ValueError as exc:
            result.problems.append(f"staff {RowProblem(number, str(exc))}")
            continue
        if member.staff_id in seen:
            result.problems.append(
                f"staff {RowProblem(number, f'staff_id {member.staff_id!r} repeats row {seen[member.staff_id]}')}"
            )
            continue
        seen[member.staff_id] = number
        result.staff.append(member)
    numbered = []
    for number, row in enumerate(rota_rows or [], start=1):
        try:
            if "_invalid" in row:
                raise ValueError("an object with the rota columns expected")
            entry = rota_entry(row)
        except ValueError as exc:
            result.problems.append(f"rota {RowProblem(number, str(exc))}")
            continue
        numbered.append((number, entry))
    everyone = set(known_staff) | set(seen)
    result.problems += [f"rota {p}" for p in check_rota_staff(numbered, everyone)]
    result.rota = [entry for _, entry in numbered]
    return result
