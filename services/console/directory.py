"""`python -m services.console.directory import STAFF_FILE [--rota ROTA_FILE] [--if-empty]`: load the staff
directory (and the rota) from CSV or JSON into the console's tables.

Every bad row is named and nothing is written while any remains; staff rows are upserted (a sign-in later keeps
them current from the provider's claims), a rota file replaces the rota. `--if-empty` loads only into an empty
directory (what `make run` does with the demo city's files at the console's start).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from services.console.directory_file import ROTA_COLUMNS, STAFF_COLUMNS, parse_directory, read_rows
from services.console.handlers.context import ConsoleContext
from services.console.handlers.directory import ApplyImport, apply_import, known_staff
from services.console.model import DirectoryImport, DirectoryRejected, ImportResult
from services.console.repository import ConsoleRepository, PostgresConsoleRepository
from services.console.settings import ConsoleSettings
from shared.db import create_pool, transactions
from shared.handling import Door


def read_import(staff_path: Path, rota_path: Path | None, known_staff: set[str]) -> DirectoryImport:
    """The files' rows, parsed; a file that cannot be read at all is one problem."""
    try:
        staff_rows = read_rows(staff_path.read_text(encoding="utf-8"), staff_path.name, STAFF_COLUMNS[:2])
        rota_rows = (
            read_rows(rota_path.read_text(encoding="utf-8"), rota_path.name, ROTA_COLUMNS[:2]) if rota_path else None
        )
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        return DirectoryImport(problems=[str(exc)])
    return parse_directory(staff_rows, rota_rows, known_staff=known_staff)


async def import_files(
    door: Door[ConsoleRepository, ConsoleContext], staff_path: Path, rota_path: Path | None, *, if_empty: bool = False
) -> ImportResult | None:
    """Import into the directory; raises `DirectoryRejected` naming every bad row. None: not empty (`if_empty`)."""
    parsed = read_import(staff_path, rota_path, await door.run(known_staff, None))
    return await door.run(apply_import, ApplyImport(parsed, replace_rota=rota_path is not None, only_if_empty=if_empty))


async def _run(args: argparse.Namespace) -> int:
    settings = ConsoleSettings()
    pool = await create_pool(settings.database_url, min_size=1, max_size=2)
    try:
        door: Door[ConsoleRepository, ConsoleContext] = Door(
            transactions(pool, PostgresConsoleRepository), ConsoleContext.configured(settings)
        )
        result = await import_files(door, args.staff, args.rota, if_empty=args.if_empty)
    except DirectoryRejected as exc:
        print(f"nothing imported: {len(exc.problems)} problem(s)", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    finally:
        await pool.close()
    if result is None:
        print("staff directory: not empty, nothing imported (--if-empty)")
    else:
        rota = f", {result.rota} rota entries" if result.rota is not None else ""
        print(f"staff directory: {result.staff} staff{rota} imported")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.console.directory", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("import", help="import a staff file (CSV or JSON) and optionally a rota")
    load.add_argument(
        "staff", type=Path, help="staff file: staff_id,display_name,display_name_en,roles,department,crew,contact,phone"
    )
    load.add_argument("--rota", type=Path, help="rota file: duty,staff_id,department,starts_at,ends_at")
    load.add_argument("--if-empty", action="store_true", help="only into an empty directory")
    return asyncio.run(_run(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
