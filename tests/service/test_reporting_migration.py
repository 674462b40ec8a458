"""Migrations upgrade a populated reporting schema in place to what projecting the same events today gives. 002:
cases gain the asset they were received with (row, contribution, asset hotspots), and an incident's work-order
events, which the previous version made into a phantom case, leave the cases. 003: cases gain their KPI keys,
their timeliness deadline and whether their first resolution met it. 005: cases gain when they were received, work
orders who resolved them, callbacks who made them (by name) and how."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from services.reporting.handlers import ReportingContext, project
from services.reporting.repository import ReadModels
from shared.db import create_pool, transactions
from shared.handling import Door
from shared.migrations import apply
from tests.support.infrastructure import Infrastructure
from tests.support.reporting import fresh_database
from tests.support.reporting_events.handling import events as handling_events
from tests.support.reporting_events.handling import period_script
from tests.support.reporting_events.incidents import Storm
from tests.support.reporting_events.persons import Household, household_events

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "reporting" / "migrations"


async def test_002_upgrades_a_populated_schema_to_what_a_projection_gives(
    migrated: Infrastructure, tmp_path: Path
) -> None:
    s = Storm(datetime(2025, 5, 6, 2, 0, tzinfo=UTC), seed=77)
    s.route(s.call(1, 0, asset={"type": "heat_exchange_station", "id": "HES-9"}), 1)  # counted: in the hotspots
    s.route(s.call(2, 5), 6)
    s.call(3, 7, asset={"type": "feeder", "id": "F-1"})  # not routed yet: no contribution
    s.open_incident(10, [], merged={})  # its work order's events only reach the case topics before 002
    events = [e for e in s.events if not e.event_type.startswith("incident.")]
    only_001 = tmp_path / "migrations"
    only_001.mkdir()
    shutil.copy(MIGRATIONS / "001_read_models.sql", only_001)

    async with fresh_database(migrated.database_url) as dsn:
        pool = await create_pool(dsn, min_size=1, max_size=2)
        conn = await asyncpg.connect(dsn)
        try:
            await Door(transactions(pool, ReadModels), ReportingContext(ZoneInfo("Asia/Shanghai"))).run(project, events)
            await apply(conn, only_001, "reporting_old")
            await _as_before_002(conn, s.incident_ref)
            await apply(conn, MIGRATIONS, "reporting_old")
            for table, order in (("cases", "complaint_id"), ("hotspot_asset_hourly", "hour, asset_type, asset_id")):
                expected = await _rows(conn, "reporting", table, order)
                assert expected and await _rows(conn, "reporting_old", table, order) == expected, table
            # 007's address keys are computed in Python: `rebuild` fills them (its docstring says so).
            assert not await conn.fetchval("SELECT count(address_key) FROM reporting_old.cases")
            assert not await conn.fetchval("SELECT count(*) FROM reporting.cases WHERE reference_no LIKE 'INC-%'")
        finally:
            await conn.close()
            await pool.close()


async def _as_before_002(conn: asyncpg.Connection, incident_ref: str) -> None:
    """The tables version 001 held for the same events: no new columns, contributions without asset or
    `fixed_with_group`, no asset hotspots, and the incident's work order as a case of its own."""
    old_columns = [
        r["column_name"]
        for r in await conn.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'reporting_old' "
            "AND table_name = 'cases' ORDER BY ordinal_position"
        )
    ]
    names = ", ".join(old_columns)
    await conn.execute(f"INSERT INTO reporting_old.cases ({names}) SELECT {names} FROM reporting.cases")
    await conn.execute(
        "UPDATE reporting_old.cases SET contribution = (contribution - 'asset') || jsonb_build_object("
        "'counters', (contribution -> 'counters') - 'fixed_with_group') WHERE contribution IS NOT NULL"
    )
    await conn.execute("INSERT INTO reporting_old.timeline SELECT * FROM reporting.timeline")
    phantom = await conn.fetchval(
        "SELECT complaint_id FROM reporting.timeline WHERE payload ->> 'reference_no' = $1 LIMIT 1", incident_ref
    )
    await conn.execute(
        "INSERT INTO reporting_old.cases (complaint_id, reference_no, status, cycle, reopen_count, escalation_level) "
        "VALUES ($1, $2, 'received', 0, 0, 0)",
        phantom,
        incident_ref,
    )


async def _rows(conn: asyncpg.Connection, schema: str, table: str, order: str) -> list[dict[str, Any]]:
    """The table's rows, without the address keys only a rebuild fills (migration 007)."""
    rows = [dict(r) for r in await conn.fetch(f"SELECT * FROM {schema}.{table} ORDER BY {order}")]
    return [{k: v for k, v in r.items() if k != "address_key"} for r in rows]


async def test_003_backfills_the_timeliness_columns_of_a_populated_schema(
    migrated: Infrastructure, tmp_path: Path
) -> None:
    """A schema projected before 003 gains each case's KPI keys, its timeliness deadline and whether its first
    resolution met it, as projecting the same events today gives them."""
    t0 = datetime(2025, 5, 7, 1, 0, tzinfo=UTC)
    script = [c for c in period_script() if c.n in (1, 4, 6, 8)]  # in time, late, open overdue, open not yet due
    events = [e for case in script for e in handling_events(case, t0)]
    before_003 = tmp_path / "migrations"
    before_003.mkdir()
    for name in ("001_read_models.sql", "002_incidents_and_outages.sql"):
        shutil.copy(MIGRATIONS / name, before_003)

    async with fresh_database(migrated.database_url) as dsn:
        pool = await create_pool(dsn, min_size=1, max_size=2)
        conn = await asyncpg.connect(dsn)
        try:
            await Door(transactions(pool, ReadModels), ReportingContext(ZoneInfo("Asia/Shanghai"))).run(project, events)
            await apply(conn, before_003, "reporting_old")
            old_columns = ", ".join(
                r["column_name"]
                for r in await conn.fetch(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = 'reporting_old' "
                    "AND table_name = 'cases' ORDER BY ordinal_position"
                )
            )
            await conn.execute(
                f"INSERT INTO reporting_old.cases ({old_columns}) SELECT {old_columns} FROM reporting.cases"
            )
            await conn.execute("INSERT INTO reporting_old.timeline SELECT * FROM reporting.timeline")
            await apply(conn, MIGRATIONS, "reporting_old")
            backfilled = "complaint_id, kpi_department, kpi_category, due_at, resolved_in_time"
            query = "SELECT {c} FROM {s}.cases ORDER BY complaint_id"
            expected = await conn.fetch(query.format(c=backfilled, s="reporting"))
            assert [r["resolved_in_time"] for r in expected] == [True, False, None, None]
            assert await conn.fetch(query.format(c=backfilled, s="reporting_old")) == expected
        finally:
            await conn.close()
            await pool.close()


async def test_005_backfills_who_resolved_and_called_back_and_when_it_was_received(
    migrated: Infrastructure, tmp_path: Path
) -> None:
    """A schema projected before 005 gains when each case was received, who resolved each work order and who made
    each callback's latest attempt (and how), as projecting the same events today gives them."""
    events = household_events(Household(5), datetime(2025, 7, 16, 1, 0, tzinfo=UTC))
    before_005 = tmp_path / "migrations"
    before_005.mkdir()
    for path in sorted(MIGRATIONS.glob("00[1-4]_*.sql")):
        shutil.copy(path, before_005)

    async with fresh_database(migrated.database_url) as dsn:
        pool = await create_pool(dsn, min_size=1, max_size=2)
        conn = await asyncpg.connect(dsn)
        try:
            await Door(transactions(pool, ReadModels), ReportingContext(ZoneInfo("Asia/Shanghai"))).run(project, events)
            await apply(conn, before_005, "reporting_old")
            for table in ("cases", "work_orders", "callbacks", "timeline"):
                columns = ", ".join(
                    r["column_name"]
                    for r in await conn.fetch(
                        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'reporting_old' "
                        "AND table_name = $1 ORDER BY ordinal_position",
                        table,
                    )
                )
                await conn.execute(
                    f"INSERT INTO reporting_old.{table} ({columns}) SELECT {columns} FROM reporting.{table}"
                )
            await apply(conn, MIGRATIONS, "reporting_old")
            for table, backfilled, order in (
                ("cases", "complaint_id, received_at", "complaint_id"),
                ("work_orders", "work_order_id, resolved_by, resolved_by_name", "work_order_id"),
                ("callbacks", "callback_id, agent, agent_name, method", "callback_id"),
            ):
                query = "SELECT {c} FROM {s}.{t} ORDER BY {o}"
                expected = await conn.fetch(query.format(c=backfilled, s="reporting", t=table, o=order))
                assert expected and any(r[1] is not None for r in expected), table
                assert await conn.fetch(query.format(c=backfilled, s="reporting_old", t=table, o=order)) == expected
        finally:
            await conn.close()
            await pool.close()
