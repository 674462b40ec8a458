"""A stopping service closes its database pool within a bound: a connection that never comes back (held by a task
that did not finish, the database gone meanwhile) made `Pool.close` wait for ever — CI74 left a dispatch process
alive after its runner, its log ending in "service stopped" and "Pool.close() is taking over 60 seconds". The error
it logs then says how many connections were out and which tasks were still waiting, and where: the holder's name."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import structlog

from shared.db import create_pool
from shared.runtime import close_pool
from tests.support.infrastructure import Infrastructure


async def _backend_alive(dsn: str, pid: int, *, within_s: float) -> bool:
    """Whether Postgres still serves backend `pid` once `within_s` has passed (it goes as soon as its socket closes)."""
    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + within_s
        while await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid):
            if time.monotonic() > deadline:
                return True
            await asyncio.sleep(0.05)
        return False
    finally:
        await conn.close()


async def test_a_connection_never_released_does_not_keep_the_pool_open(migrated: Infrastructure) -> None:
    pool = await create_pool(migrated.database_url, min_size=1, max_size=2)
    held = await pool.acquire()  # never released, as by a task stuck on a database that went away
    backend = held.get_server_pid()
    began = time.monotonic()
    with structlog.testing.capture_logs() as logs:
        await close_pool(pool, within_s=0.5)
    assert 0.5 <= time.monotonic() - began < 5
    assert not await _backend_alive(migrated.database_url, backend, within_s=10), "the held connection was closed"
    assert [e for e in logs if e["event"] == "database pool did not close in time, terminated"]


async def test_the_log_names_the_task_still_holding_a_connection_and_where_it_waits(migrated: Infrastructure) -> None:
    pool = await create_pool(migrated.database_url, min_size=1, max_size=2)
    stuck = asyncio.Event()

    async def wait_for_a_reply_that_never_comes(conn: asyncpg.Connection) -> None:
        await stuck.wait()

    async def handler_holding_a_connection() -> None:
        async with pool.acquire() as conn:
            await wait_for_a_reply_that_never_comes(conn)

    holder = asyncio.create_task(handler_holding_a_connection(), name="request-42")
    await wait_until_in_use(pool)
    try:
        with structlog.testing.capture_logs() as logs:
            await close_pool(pool, within_s=0.5)
    finally:
        holder.cancel()
        await asyncio.gather(holder, return_exceptions=True)
    [line] = [e for e in logs if e["event"] == "database pool did not close in time, terminated"]
    assert line["in_use_when_closing"] == 1
    [task] = [t for t in line["tasks"] if t.startswith("request-42: ")]
    assert task.index("handler_holding_a_connection (test_pool_close.py:") < task.index(
        "wait_for_a_reply_that_never_comes (test_pool_close.py:"
    ), task  # outermost first, down to where it waits


async def wait_until_in_use(pool: asyncpg.Pool) -> None:
    """Until a connection of `pool` is out (the holder's acquire has to connect first)."""
    deadline = time.monotonic() + 10
    while pool.get_size() == pool.get_idle_size():
        assert time.monotonic() < deadline, "the holder never got its connection"
        await asyncio.sleep(0.01)


async def test_a_pool_whose_connections_are_back_closes_at_once(migrated: Infrastructure) -> None:
    pool = await create_pool(migrated.database_url, min_size=2, max_size=2)
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT 1") == 1
    began = time.monotonic()
    with structlog.testing.capture_logs() as logs:
        await close_pool(pool, within_s=30)
    assert time.monotonic() - began < 5
    assert pool.is_closing()
    assert not [e for e in logs if e["log_level"] == "error"]
