"""Versioned SQL migrations, one Postgres schema per service: how one service's migrations apply.

Each service keeps `services/<name>/migrations/NNN_description.sql`; the shared ones of
`shared/sql/` (outbox, processed events) run first in every service schema, then the service's own,
in order, each in its own transaction, recorded in `<schema>.schema_migrations`. An advisory lock makes
concurrent start-ups of several replicas safe. Which services exist is not known here:
`python -m operations.migrations` finds them and applies every service's.
"""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg

SHARED_SQL_DIR = Path(__file__).resolve().parent / "sql"
_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
_LOCK_KEY = 4_242_001


def _versioned(folder: Path, prefix: str) -> list[tuple[str, Path]]:
    files = sorted(p for p in folder.glob("*.sql") if _NAME.match(p.name)) if folder.is_dir() else []
    versions = [p.name[:3] for p in files]
    if len(versions) != len(set(versions)):
        raise ValueError(f"duplicate migration version in {folder}")
    return [(f"{prefix}{p.name[:3]}", p) for p in files]


def migration_files(migrations_dir: Path) -> list[tuple[str, Path]]:
    """(version, file) pairs in the order they apply: shared ones first, then the service's."""
    return _versioned(SHARED_SQL_DIR, "shared-") + _versioned(migrations_dir, "")


async def apply(conn: asyncpg.Connection, migrations_dir: Path, schema: str) -> list[str]:
    """Apply the pending migrations of `migrations_dir` (a service's folder) in `schema` (the service's
    own, or a side schema for a rebuild); returns the names applied."""
    applied: list[str] = []
    target = schema
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{target}"')
        await conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{target}".schema_migrations ('
            "version text PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch(f'SELECT version FROM "{target}".schema_migrations')}
        for version, path in migration_files(migrations_dir):
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
