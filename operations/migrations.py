"""`python -m operations.migrations [DSN]`: apply every service's pending migrations, each in its own schema.

What docker compose's `migrate` job, the Kubernetes `migrate` Job and init containers, and `make run` run.
Services are found by their `services/<name>/migrations/` folder; the mechanism is `shared.migrations`.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import asyncpg

from shared.db import refuse_unverified_database
from shared.migrations import apply

SERVICES_DIR = Path(__file__).resolve().parent.parent / "services"


def service_migrations() -> dict[str, Path]:
    """Service name (= its schema) → its migrations folder, for every service that has one."""
    return {p.parent.name: p for p in sorted(SERVICES_DIR.glob("*/migrations")) if any(p.glob("*.sql"))}


async def apply_all(dsn: str) -> list[str]:
    """Apply every service's pending migrations; returns the names applied."""
    conn = await asyncpg.connect(dsn)
    try:
        applied: list[str] = []
        for service, folder in service_migrations().items():
            applied += await apply(conn, folder, service)
        return applied
    finally:
        await conn.close()


def main() -> None:
    dsn = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("DATABASE_URL")
    if not dsn:
        sys.exit("usage: python -m operations.migrations [DSN]  (or set DATABASE_URL)")
    # APP_ENV as the services read it: a migration job in production connects as verified as they do.
    refuse_unverified_database(os.environ.get("APP_ENV", "prod"), dsn)
    for name in asyncio.run(apply_all(dsn)):
        print("applied", name)


if __name__ == "__main__":
    main()
