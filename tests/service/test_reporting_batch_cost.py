"""What projecting one consumer batch costs Postgres, counted on the wire: 500 mixed events (customers' cases with
their work orders, callbacks, escalations and corrective actions; incidents and outage notices) through the door as
the read-models consumer runs them (`Door.batch`, `project_delivered`).

A statement is a query sent (`execute`, `fetch*`); an `executemany` counts one per row, as the server executes
each. The figures are in reporting's README; the bound keeps them from creeping back.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from asyncpg.connection import Connection

from services.reporting.handlers import ReportingContext, project_delivered
from services.reporting.repository import ReadModels
from shared.contracts import Event
from shared.db import create_pool, transactions
from shared.handling import Door
from tests.support.infrastructure import Infrastructure
from tests.support.reporting import fresh_database
from tests.support.reporting_events.handling import events as handling_events
from tests.support.reporting_events.handling import period_script
from tests.support.reporting_events.incidents import storm

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
BATCH = 500


def mixed_batch() -> list[Event]:
    """A day's handled cases and eleven storms (incident, outage notice, their callers), in time order."""
    events = [e for case in period_script() for e in handling_events(case, T0)]
    for seed in range(1, 12):
        events += storm(T0, seed=seed).events
    return sorted(events, key=lambda e: e.occurred_at)[:BATCH]


def _kind(query: str) -> str:
    words = query.split()
    verb = words[0].upper()
    if verb == "WITH":
        verb = next((w.upper() for w in words if w.upper() in ("INSERT", "UPDATE", "DELETE")), "SELECT")
    table = next((w for w in words if w.startswith(("reporting.", '"reporting"'))), "")
    if "pg_advisory_xact_lock" in query:
        return "lock"
    return f"{verb} {table}".strip()


@contextmanager
def counting() -> Iterator[Counter[str]]:
    """Statements sent on any connection while the block runs, by verb and table."""
    seen: Counter[str] = Counter()
    execute, execute_args, executemany = Connection.execute, Connection._execute, Connection._executemany

    async def counted_execute(self: Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        if not args:
            seen[_kind(query)] += 1
        return await execute(self, query, *args, **kwargs)

    async def counted_execute_args(self: Connection, query: str, args: Any, *rest: Any, **kwargs: Any) -> Any:
        seen[_kind(query)] += 1
        return await execute_args(self, query, args, *rest, **kwargs)

    async def counted_executemany(self: Connection, query: str, args: Any, *rest: Any, **kwargs: Any) -> Any:
        rows = list(args)
        seen[_kind(query)] += len(rows)
        return await executemany(self, query, rows, *rest, **kwargs)

    patches = {"execute": counted_execute, "_execute": counted_execute_args, "_executemany": counted_executemany}
    originals = {name: getattr(Connection, name) for name in patches}
    try:
        for name, patched in patches.items():
            setattr(Connection, name, patched)
        yield seen
    finally:
        for name, original in originals.items():
            setattr(Connection, name, original)


async def test_a_batch_of_500_mixed_events_costs_a_few_statements_per_table(migrated: Infrastructure) -> None:
    batch = mixed_batch()
    assert len(batch) == BATCH
    async with fresh_database(migrated.database_url) as dsn:
        pool = await create_pool(dsn, min_size=1, max_size=2)
        try:
            door = Door(transactions(pool, ReadModels), ReportingContext(ZoneInfo("Asia/Shanghai")))
            await door.batch(project_delivered, batch[:1], consumer="warm-up")
            with counting() as seen:
                await door.batch(project_delivered, batch, consumer="reporting.read-models")
            total = sum(seen.values())
            print(f"{total} statements for {BATCH} events ({total / BATCH:.3f} per event):", dict(seen))
            assert total <= 40, dict(seen)
            assert await pool.fetchval("SELECT count(*) FROM reporting.cases") > 50
            at_once = await _tables(pool)
        finally:
            await pool.close()
    # The same events in small batches give the same tables (what the live consumer and a rebuild rely on).
    async with fresh_database(migrated.database_url) as dsn:
        pool = await create_pool(dsn, min_size=1, max_size=2)
        try:
            door = Door(transactions(pool, ReadModels), ReportingContext(ZoneInfo("Asia/Shanghai")))
            for start in range(0, BATCH, 7):
                await door.batch(project_delivered, batch[start : start + 7], consumer="reporting.read-models")
            assert await _tables(pool) == at_once
        finally:
            await pool.close()


DERIVED = (
    "cases",
    "work_orders",
    "callbacks",
    "corrective_actions",
    "messages",
    "incidents",
    "outages",
    "kpi_rollup",
    "kpi_rollup_handling",
    "hotspot_hourly",
    "hotspot_asset_hourly",
)


async def _tables(pool: Any) -> dict[str, list[str]]:
    """Every derived table's rows, as text, in a stable order."""
    return {
        table: sorted(str(dict(r)) for r in await pool.fetch(f"SELECT * FROM reporting.{table}")) for table in DERIVED
    }
