"""Followup's statements on `followup.timers` keep to its indexes on a grown table (issue 27, migration 023): a
case's timers (`GET …/sla`) and a callback outcome's cancel by complaint had no index and read the whole table, five
rows per routed complaint; the cancels and moves by subject use the unique key (subject_id, kind, stage, level)
since the index that repeated its leading column was dropped."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from tests.support.databases import generic_plan, scratch_database, service_migrated
from tests.support.infrastructure import Infrastructure

#: A grown table: timers of 4,000 work orders (warning and breach of two stages), analysed as autovacuum would.
WORK_ORDERS = 4000


@pytest.fixture
async def timers(migrated: Infrastructure) -> AsyncIterator[asyncpg.Connection]:
    async with scratch_database(migrated.database_url, "followup_timers", service_migrated("followup")) as url:
        conn = await asyncpg.connect(url)
        try:
            due = datetime.now(UTC) + timedelta(hours=4)
            await conn.execute(
                "INSERT INTO followup.timers (complaint_id, subject_id, kind, stage, due_at) "
                "SELECT c, s, k, st, $1 FROM (SELECT gen_random_uuid() AS c, gen_random_uuid() AS s "
                "FROM generate_series(1, $2)) o, unnest(ARRAY['warning', 'breach']) k, "
                "unnest(ARRAY['acknowledge', 'resolve']) st",
                due,
                WORK_ORDERS,
            )
            await conn.execute("ANALYZE followup.timers")
            yield conn
        finally:
            await conn.close()


@pytest.mark.parametrize(
    ("statement", "index"),
    [
        (  # ClockTables.timers_of: the SLA view of one case
            "SELECT kind, stage, level, due_at, deadline, fired_at, cancelled_at FROM followup.timers "
            "WHERE complaint_id = $1 ORDER BY due_at, timer_id",
            "timers_complaint",
        ),
        (  # ClockTables.cancel_for_complaint: a callback outcome stops the satisfaction check
            "UPDATE followup.timers SET cancelled_at = now() WHERE complaint_id = $1 AND stage = ANY($2::text[]) "
            "AND fired_at IS NULL AND cancelled_at IS NULL",
            "timers_complaint",
        ),
        (  # ClockTables.cancel: a step taken stops its stage's clocks
            "UPDATE followup.timers SET cancelled_at = now() WHERE subject_id = $1 AND stage = ANY($2::text[]) "
            "AND fired_at IS NULL AND cancelled_at IS NULL",
            "timers_subject_id_kind_stage_level_key",
        ),
    ],
)
async def test_a_cases_or_a_work_orders_timers_are_found_by_index(
    timers: asyncpg.Connection, statement: str, index: str
) -> None:
    args: tuple[object, ...] = (uuid.uuid4(),) if statement.startswith("SELECT") else (uuid.uuid4(), ["resolve"])
    plan = await generic_plan(timers, statement, *args)
    assert index in plan, plan
    assert "Seq Scan" not in plan, plan
