"""asyncpg pool and the unit of work every handler writes through.

The unit of work owns the transaction: it rolls back unless the handler commits explicitly, and the
outbox rows and processed-event marks written through it commit atomically with the effect.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg


async def _init_connection(conn: asyncpg.Connection) -> None:
    """jsonb in and out as Python objects, so repositories never json.dumps by hand."""
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(dsn: str, *, min_size: int = 2, max_size: int = 10, **kwargs: Any) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, init=_init_connection, **kwargs)
    assert pool is not None
    return pool


class UnitOfWork:
    """One transaction on one pooled connection; rolled back unless `commit()` was called."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self._committed = False

    def commit(self) -> None:
        """Mark the work as done; the transaction commits when the `unit_of_work` block exits."""
        self._committed = True

    @property
    def committed(self) -> bool:
        return self._committed


class _Rollback(Exception):
    """Raised inside the transaction block to roll back without an error."""


@asynccontextmanager
async def unit_of_work(pool: asyncpg.Pool) -> AsyncIterator[UnitOfWork]:
    async with pool.acquire() as conn:
        uow = UnitOfWork(conn)
        try:
            async with conn.transaction():
                yield uow
                if not uow.committed:
                    raise _Rollback
        except _Rollback:
            pass
