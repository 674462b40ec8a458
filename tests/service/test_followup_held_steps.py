"""Issue 26, must-show 3, on real Postgres (`followup.held_work_order_events`, migration 022): steps that came before
their work order's assignment are held once, and applied in their order right after it — no live clock for the
resolved work order, and its one callback."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import asyncpg

from services.followup import consumers
from services.followup.handlers.context import FollowupContext
from services.followup.model import CallbackPolicy
from services.followup.notifications import Notifier, Templates
from services.followup.repository import PostgresFollowupRepository
from services.followup.sla_clocks import ClockRules
from shared.db import transactions
from shared.handling import Door
from shared.sla import load_sla_table
from tests.support.followup_events import START, acknowledged, assigned, new_order, resolved


async def test_steps_held_in_postgres_are_applied_after_the_assignment(db: asyncpg.Pool) -> None:
    sla = load_sla_table()
    context = FollowupContext(
        clocks=ClockRules(sla),
        notifier=Notifier(Templates(), "en", ZoneInfo(sla.config.timezone)),
        callbacks=CallbackPolicy(max_attempts=3, retry_interval=timedelta(hours=2)),
    )
    door = Door(transactions(db, PostgresFollowupRepository), context, clock=lambda: START + timedelta(hours=3))
    order = new_order()
    steps = [acknowledged(order, at=START + timedelta(minutes=5)), resolved(order, at=START + timedelta(hours=2))]
    handler, consumer = consumers.WORK_ORDERS.handler, consumers.WORK_ORDERS.consumer
    await door.batch(handler, steps, consumer=consumer)
    held = "SELECT count(*) FROM followup.held_work_order_events WHERE work_order_id = $1"
    assert await db.fetchval(held, order.work_order_id) == 2
    await door.batch(handler, [assigned(order)], consumer=consumer)
    assert await db.fetchval(held, order.work_order_id) == 0
    live = await db.fetchval(
        "SELECT count(*) FROM followup.timers WHERE subject_id = $1 AND fired_at IS NULL AND cancelled_at IS NULL",
        order.work_order_id,
    )
    assert live == 0, "no live clock for the resolved work order"
    callbacks = await db.fetchval(
        "SELECT count(*) FROM followup.callbacks WHERE work_order_id = $1", order.work_order_id
    )
    assert callbacks == 1
