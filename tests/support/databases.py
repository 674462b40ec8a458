"""A scratch database on the session's Postgres server: created, migrated as the test needs, dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from operations.migrations import service_migrations
from shared.migrations import apply


def service_migrated(service: str) -> Callable[[str], Awaitable[None]]:
    """A `migrate` for `scratch_database`: `service`'s own migrations only, in its schema."""

    async def migrate(url: str) -> None:
        conn = await asyncpg.connect(url)
        try:
            await apply(conn, service_migrations()[service], service)
        finally:
            await conn.close()

    return migrate


@asynccontextmanager
async def scratch_database(
    server_url: str, prefix: str, migrate: Callable[[str], Awaitable[object]]
) -> AsyncIterator[str]:
    """A new database named `<prefix>_<random>` on the server of `server_url`, `migrate(url)` applied to it; dropped
    (connections and all) when the block ends, whatever happened in it."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    try:
        await migrate(url)
        yield url
    finally:
        admin = await asyncpg.connect(server_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def generic_plan(conn: asyncpg.Connection, statement: str, *args: object) -> str:
    """The plan a prepared statement keeps once Postgres settles on its generic plan (asyncpg prepares each statement
    once per connection; after five runs `auto` keeps the generic one): what a service's hot statement really runs."""
    await conn.execute("SET plan_cache_mode = force_generic_plan")
    return "\n".join(row[0] for row in await conn.fetch(f"EXPLAIN {statement}", *args))
