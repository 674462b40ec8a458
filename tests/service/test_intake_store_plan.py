"""Intake's one statement per submission (`repository._STORE`) keeps to its indexes whatever the planner knew when
it cached the statement's plan.

asyncpg prepares a statement once per connection, and after five runs Postgres keeps a generic plan made from the
statistics of that moment. Intake started on new, empty tables (a first deployment; every bench) so kept a plan that
read `intake.customer_keys` whole for each submission — a hash join over a sequential scan is the cheapest plan for
an empty table — and each submission cost more than the one before, until autovacuum's first ANALYZE of the table
replaced the plan. The ingress bench measured the statement at 1.7 → 7.4 ms over its 30 s (issue 27). The keys are
now looked up one at a time through the primary key (LATERAL ... LIMIT 1), which no statistics make a full scan.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import asyncpg
import pytest

from services.intake.customers import RANKS
from services.intake.repository import _REMATCH, _STORE
from services.intake.settings import IntakeSettings
from shared.runtime import close_pool, connect_with_retry
from shared.settings import ServiceSettings
from tests.support.databases import generic_plan, scratch_database, service_migrated
from tests.support.infrastructure import Infrastructure


@pytest.fixture
async def empty_intake_url(migrated: Infrastructure) -> AsyncIterator[str]:
    """A database holding intake's tables, new and empty, never analysed."""
    async with scratch_database(migrated.database_url, "intake_plan", service_migrated("intake")) as url:
        yield url


@pytest.fixture
async def empty_intake(empty_intake_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(empty_intake_url)
    try:
        yield conn
    finally:
        await conn.close()


async def test_the_plan_cached_on_empty_tables_scans_no_table_whole(empty_intake: asyncpg.Connection) -> None:
    now = datetime.now(UTC)
    keys = [("account", "HT-000001"), ("phone", "f" * 64), ("address", "heping|长青小区|3|2|301")]
    plan = await generic_plan(
        empty_intake,
        _STORE,
        uuid.uuid4(),
        "web",
        "web-plan-check",
        "idempotency-plan-check",
        "fingerprint",
        now,
        now,
        "correlation",
        '{"text": "plan"}',  # jsonb, as text: this connection has no codec for it
        date.today(),
        [kind for kind, _ in keys],
        [key for _, key in keys],
        [RANKS[kind] for kind, _ in keys],
        True,
        uuid.uuid4(),
        b"k" * 32,
    )
    assert "customer_keys_pkey" in plan, plan
    assert "Seq Scan" not in plan, plan


async def test_the_rematch_of_a_racing_first_complaint_scans_no_table_whole(empty_intake: asyncpg.Connection) -> None:
    """The submission's other statement that looks keys up (only when two first complaints race): its join is
    planned by the primary key even on empty tables, as it stands."""
    kinds, keys = ["account", "phone"], ["HT-000001", "f" * 64]
    plan = await generic_plan(
        empty_intake, _REMATCH, uuid.uuid4(), kinds, keys, [RANKS[k] for k in kinds], uuid.uuid4(), True, 4
    )
    assert "customer_keys_pkey" in plan, plan
    assert "Seq Scan" not in plan, plan


async def _plans_of_a_statement_run_six_times(settings: ServiceSettings) -> tuple[int, int]:
    """(generic, custom) plans Postgres made for one statement run six times on a session of the service's pool."""
    pool = await connect_with_retry(settings)
    try:
        async with pool.acquire() as conn:
            for _ in range(6):
                await conn.fetchval("SELECT count(*) FROM intake.complaints WHERE complaint_id = $1", uuid.uuid4())
            row = await conn.fetchrow(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                "WHERE statement LIKE 'SELECT count(*) FROM intake.complaints%'"
            )
    finally:
        await close_pool(pool)
    assert row is not None
    return row["generic_plans"], row["custom_plans"]


async def test_intakes_sessions_plan_each_statement_once(empty_intake_url: str) -> None:
    """Under Postgres's `auto` a prepared statement is planned afresh on each of its first five runs, and on every
    later one while its generic plan is estimated dearer: the ingress bench found Postgres spending 0.6 ms of its
    1.36 ms per submission planning intake's store again. Intake's sessions use the generic plan from the first run
    (`DATABASE_PLAN_CACHE_MODE`, default `force_generic_plan` for intake); the other services keep `auto`."""
    url = empty_intake_url
    assert await _plans_of_a_statement_run_six_times(IntakeSettings(app_env="test", database_url=url)) == (6, 0)
    assert await _plans_of_a_statement_run_six_times(ServiceSettings(app_env="test", database_url=url)) == (1, 5)
