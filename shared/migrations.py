"""Versioned SQL migrations, one Postgres schema per service.

Each service keeps `services/<name>/migrations/NNN_description.sql`; the shared ones of
`shared/sql/` (outbox, processed events) run first in every service schema, then the service's own,
in order, each in its own transaction, recorded in `<schema>.schema_migrations`. An advisory lock makes concurrent
start-ups of several replicas safe. `python -m shared.migrations` applies every service's.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import asyncpg

SERVICES_DIR = Path(__file__).resolve().parent.parent / "services"
SHARED_SQL_DIR = Path(__file__).resolve().parent / "sql"
_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
_LOCK_KEY = 4_242_001


def _versioned(folder: Path, prefix: str) -> list[tuple[str, Path]]:
    files = sorted(p for p in folder.glob("*.sql") if _NAME.match(p.name)) if folder.is_dir() else []
    versions = [p.name[:3] for p in files]
    if len(versions) != len(set(versions)):
        raise ValueError(f"duplicate migration version in {folder}")
    return [(f"{prefix}{p.name[:3]}", p) for p in files]


def migration_files(service: str) -> list[tuple[str, Path]]:
    """(version, file) pairs in the order they apply: shared ones first, then the service's."""
    return _versioned(SHARED_SQL_DIR, "shared-") + _versioned(SERVICES_DIR / service / "migrations", "")


def services_with_migrations() -> list[str]:
    return sorted(p.parent.parent.name for p in SERVICES_DIR.glob("*/migrations/*.sql"))


async def apply(conn: asyncpg.Connection, service: str, schema: str | None = None) -> list[str]:
    """Apply the service's pending migrations in its own schema (or `schema`, e.g. for a rebuild into a
    side schema); returns the names applied."""
    applied: list[str] = []
    target = schema or service
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{target}"')
        await conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{target}".schema_migrations ('
            "version text PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch(f'SELECT version FROM "{target}".schema_migrations')}
        for version, path in migration_files(service):
            if version in done:
                continue
            async with conn.transaction():
                await conn.execute(f'SET LOCAL search_path TO "{target}", public')
                await conn.execute(path.read_text(encoding="utf-8"))
                await conn.execute(
                    f'INSERT INTO "{target}".schema_migrations (version, name) VALUES ($1, $2)',
                    version,
                    path.name,
                )
            applied.append(f"{target}/{path.name}")
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    return applied


async def apply_all(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        applied: list[str] = []
        for service in dict.fromkeys(services_with_migrations()):
            applied += await apply(conn, service)
        return applied
    finally:
        await conn.close()


def main() -> None:
    dsn = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("DATABASE_URL")
    if not dsn:
        sys.exit("usage: python -m shared.migrations [DSN]  (or set DATABASE_URL)")
    for name in asyncio.run(apply_all(dsn)):
        print("applied", name)


if __name__ == "__main__":
    main()
