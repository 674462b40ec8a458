"""Issue 26: processed-event marks and idempotency keys pruned past their horizon (`shared.pruning`), on the session's
Postgres — old rows go, recent ones and a key still leased stay, each DELETE takes at most a batch, the worker does a
round as it starts, and a complaint redelivered to dispatch after its mark was pruned opens nothing a second time.

The table tests run in a scratch schema of their own (the shared migrations applied to it), so the services' own
pruning workers started by other tests cannot take their rows."""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest

from services.dispatch.classification import load_rules
from services.dispatch.handlers import route
from services.dispatch.handlers.context import DispatchContext, DispatchDoor, DispatchWork
from services.dispatch.repository import PostgresDispatchRepository
from shared import migrations
from shared.contracts import ComplaintReceived
from shared.db import transactions
from shared.handling import Door
from shared.http.idempotency_keys import IdempotencyKeys
from shared.pruning import IDEMPOTENCY_KEYS_KEPT, PRUNED, PruningSettings, horizons, prune, prune_batch, pruning_worker
from shared.sla import load_sla_table
from tests.support.dispatch import received
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import wait_until

ROOT = Path(__file__).resolve().parents[2]
IDEMPOTENCY_KEYS_SQL = ROOT / "services" / "dispatch" / "migrations" / "012_idempotency_keys.sql"
SETTINGS = PruningSettings(prune_processed_after_days=90, prune_batch_size=1000, prune_pause_seconds=0)


@pytest.fixture
async def schema(db: asyncpg.Pool, migrated: Infrastructure) -> AsyncIterator[str]:
    """A schema of the test's own with `processed_events` (the shared migrations) and dispatch's `idempotency_keys`."""
    name = f"prune_test_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(migrated.database_url)
    try:
        await migrations.apply(conn, ROOT / "no-such-service", name)
        await conn.execute(f'SET search_path TO "{name}"; {IDEMPOTENCY_KEYS_SQL.read_text()}; RESET search_path')
    finally:
        await conn.close()
    yield name
    await db.execute(f'DROP SCHEMA "{name}" CASCADE')


async def _marks(db: asyncpg.Pool, schema: str, n: int, age: timedelta, consumer: str) -> None:
    await db.execute(
        f'INSERT INTO "{schema}".processed_events (consumer, event_id, processed_at) '
        "SELECT $1, gen_random_uuid(), now() - $2::interval FROM generate_series(1, $3)",
        consumer,
        age,
        n,
    )


async def _count(db: asyncpg.Pool, schema: str, consumer: str) -> int:
    return int(await db.fetchval(f'SELECT count(*) FROM "{schema}".processed_events WHERE consumer = $1', consumer))


async def test_old_marks_go_a_batch_at_a_time_and_recent_ones_stay(db: asyncpg.Pool, schema: str) -> None:
    await _marks(db, schema, 2500, timedelta(days=91), "old")
    await _marks(db, schema, 20, timedelta(days=89), "recent")
    marks = horizons(SETTINGS)[0]

    assert await prune_batch(db, schema, marks, 1000) == 1000, "one DELETE takes a batch, no more"
    assert await _count(db, schema, "old") == 1500

    counted = PRUNED.labels(schema, "processed_events")._value.get()
    assert await prune(db, schema, SETTINGS) == {"processed_events": 1500, "idempotency_keys": 0}
    assert PRUNED.labels(schema, "processed_events")._value.get() - counted == 1500, "the metric counts what went"
    assert await _count(db, schema, "old") == 0
    assert await _count(db, schema, "recent") == 20, "inside the horizon: kept"
    indexed = await db.fetchval(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = 'processed_events_processed_at'", schema
    )
    assert indexed is not None and "(processed_at)" in indexed, "a batch is found by its age, not by a scan"


async def test_idempotency_keys_past_their_day_go_unless_still_leased(db: asyncpg.Pool, schema: str) -> None:
    table = f'"{schema}".idempotency_keys'
    rows = [  # key, age, still leased
        ("answered-yesterday", timedelta(hours=25), False),
        ("leased-now", timedelta(hours=25), True),
        ("answered-today", timedelta(hours=23), False),
    ]
    for key, age, leased in rows:
        await db.execute(
            f"INSERT INTO {table} (caller, key, request, status, created_at, locked_until) "
            "VALUES ('c', $1, 'r', 201, now() - $2::interval, now() + make_interval(secs => $3))",
            key,
            age,
            60 if leased else -60,
        )
    assert (await prune(db, schema, SETTINGS))["idempotency_keys"] == 1
    kept = {r["key"] for r in await db.fetch(f"SELECT key FROM {table}")}
    assert kept == {"leased-now", "answered-today"}


def test_the_keys_horizon_is_the_reuse_window_the_middleware_applies() -> None:
    keep_hours = inspect.signature(IdempotencyKeys.__init__).parameters["keep_hours"].default
    assert timedelta(hours=keep_hours) == IDEMPOTENCY_KEYS_KEPT


async def test_the_worker_prunes_as_it_starts_and_stops_when_told(db: asyncpg.Pool, schema: str) -> None:
    await _marks(db, schema, 30, timedelta(days=100), "old")
    stop = asyncio.Event()
    worker: asyncio.Future[None] = asyncio.ensure_future(pruning_worker(db, schema, SETTINGS)(stop))
    try:

        async def none_left() -> bool:
            return await _count(db, schema, "old") == 0

        await wait_until(none_left, timeout=30)
    finally:
        stop.set()
        await asyncio.wait_for(worker, timeout=10)


async def test_a_complaint_redelivered_after_its_mark_was_pruned_opens_nothing_again(db: asyncpg.Pool) -> None:
    context = DispatchContext(rules=load_rules(), sla=load_sla_table())
    door: DispatchDoor = Door(transactions(db, PostgresDispatchRepository), context)
    consumer = f"prune-{uuid.uuid4().hex[:6]}"
    event = received("家里停水两天了，请尽快处理。", account_no=f"PRUNE-{uuid.uuid4().hex[:10]}")
    emitted: list[list[str]] = []

    async def opening(batch: Sequence[ComplaintReceived], work: DispatchWork) -> None:
        await route.received(batch, work)  # dispatch's real use case, its events noted as it emits them
        emitted.append([e.event_type for e in work.events])

    await door.batch(opening, [event], consumer=consumer)
    orders = "SELECT work_order_id FROM dispatch.work_orders WHERE complaint_id = $1"
    opened = await db.fetch(orders, event.complaint_id)
    assert len(opened) == 1 and emitted[0], "the first delivery opens a work order and publishes"

    await db.execute(  # the mark as it would be after 91 days
        "UPDATE dispatch.processed_events SET processed_at = now() - interval '91 days' "
        "WHERE consumer = $1 AND event_id = $2",
        consumer,
        event.event_id,
    )
    await prune(db, "dispatch", SETTINGS)
    mark = "SELECT count(*) FROM dispatch.processed_events WHERE consumer = $1 AND event_id = $2"
    assert await db.fetchval(mark, consumer, event.event_id) == 0, "pruned"

    await door.batch(opening, [event], consumer=consumer)  # the same event, delivered again
    assert len(emitted) == 2, "the mark was gone: the use case ran again"
    assert emitted[1] == [], "and published nothing"
    assert await db.fetchval(mark, consumer, event.event_id) == 1, "marked afresh"
    assert await db.fetch(orders, event.complaint_id) == opened, "no second work order: known by complaint id"
    assert await db.fetchval("SELECT count(*) FROM dispatch.cases WHERE complaint_id = $1", event.complaint_id) == 1
