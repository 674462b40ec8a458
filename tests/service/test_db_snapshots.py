"""`shared.db.snapshots`: a report made of several reads sees one state of the database, against real Postgres.

Reporting's KPI report reads its rows and its totals in separate statements; a projection committing between
them made rows that did not add up to the totals (seen in CI: a department's satisfaction read before a callback's
outcome that the totals already counted)."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from shared.db import snapshots, transactions


async def test_a_snapshot_reads_one_state_while_others_commit_and_cannot_write(db: asyncpg.Pool) -> None:
    table = f"public.snapshot_{uuid.uuid4().hex[:12]}"
    await db.execute(f"CREATE TABLE {table} (n int)")
    try:
        await db.execute(f"INSERT INTO {table} VALUES (1)")
        async with snapshots(db, lambda conn: conn)() as snapshot:
            assert await snapshot.repo.fetchval(f"SELECT count(*) FROM {table}") == 1
            await db.execute(f"INSERT INTO {table} VALUES (2)")  # another connection commits meanwhile
            assert await snapshot.repo.fetchval(f"SELECT count(*) FROM {table}") == 1, "the same state twice"
            with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
                await snapshot.repo.execute(f"INSERT INTO {table} VALUES (3)")
        async with transactions(db, lambda conn: conn)() as work:  # an ordinary transaction reads each commit
            assert await work.repo.fetchval(f"SELECT count(*) FROM {table}") == 2
            await db.execute(f"INSERT INTO {table} VALUES (4)")
            assert await work.repo.fetchval(f"SELECT count(*) FROM {table}") == 3
    finally:
        await db.execute(f"DROP TABLE {table}")
