"""Issue 26, upgrades: migrations run while the previous release's pods still serve (a rolling deploy), so every
migration must be *expand-only* — what the old code reads and writes keeps working. A contracting change (drop,
rename, narrow a type, forbid what old code writes) ships later, in a file named `NNN_contract_<what>.sql`, once no
running release uses what it removes (deploy/README.md, "Upgrades"). Two migrations from before this check narrow a
table; they ran long ago and are named here, so a new one cannot slip in."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = sorted((*ROOT.glob("services/*/migrations/*.sql"), *(ROOT / "shared" / "sql").glob("*.sql")))

#: What an old pod cannot live with, as it would be written in our SQL.
CONTRACTING = {
    "drops a table, column, schema, type, view or function": r"\bDROP\s+(TABLE|COLUMN|SCHEMA|TYPE|VIEW|FUNCTION)\b",
    "renames something": r"\bRENAME\b",
    "changes a column's type": r"\bALTER\s+COLUMN\s+\w+\s+(SET\s+DATA\s+)?TYPE\b",
    "makes a column NOT NULL": r"\bSET\s+NOT\s+NULL\b",
    "truncates a table": r"\bTRUNCATE\b",
    "adds a NOT NULL column without a default": (
        r"\bADD\s+COLUMN\s+(IF\s+NOT\s+EXISTS\s+)?\w+[^,;]*?\bNOT\s+NULL\b(?![^,;]*\bDEFAULT\b)"
    ),
    "adds a constraint the old code's writes may break": (
        r"\bADD\s+(CONSTRAINT\s+\w+\s+)?(CHECK|UNIQUE|FOREIGN\s+KEY|PRIMARY\s+KEY)\b"
    ),
}
#: Before the check: the clock's start made NOT NULL, one callback per caller made unique.
GRANDFATHERED = {
    "services/dispatch/migrations/002_work_order_clock_start.sql",
    "services/followup/migrations/002_callers_of_incidents_and_outages.sql",
}


def _contracting(sql: str) -> list[str]:
    code = re.sub(r"--[^\n]*", "", sql)
    return [why for why, pattern in CONTRACTING.items() if re.search(pattern, code, re.IGNORECASE | re.DOTALL)]


@pytest.mark.parametrize("path", MIGRATIONS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_migration_is_expand_only_unless_it_says_it_contracts(path: Path) -> None:
    name = str(path.relative_to(ROOT))
    if "_contract_" in path.name or name in GRANDFATHERED:
        return
    assert not _contracting(path.read_text()), f"{name} {_contracting(path.read_text())}: ship it as NNN_contract_…"


def test_the_check_sees_what_it_forbids() -> None:
    assert _contracting("ALTER TABLE t DROP COLUMN phone;") == ["drops a table, column, schema, type, view or function"]
    assert _contracting("ALTER TABLE t ADD COLUMN n int NOT NULL;") == ["adds a NOT NULL column without a default"]
    assert _contracting("ALTER TABLE t ADD COLUMN n int NOT NULL DEFAULT 0;") == []
    assert _contracting("ALTER TABLE t ALTER COLUMN n DROP NOT NULL; DROP INDEX i; -- DROP TABLE t") == []
    assert _contracting("ALTER TABLE t RENAME COLUMN a TO b;") == ["renames something"]
    assert set(GRANDFATHERED) <= {str(p.relative_to(ROOT)) for p in MIGRATIONS}
