"""A partner hotline's stricter deadline on real Postgres: the complaint (with `partner_deadline_at`) after its work
order brings the work order's deadlines and its pending resolve clock down to the partner's (the stopped
acknowledge clock stays stopped); a work order assigned after it is tracked held to it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from services.followup import consumers
from services.followup.handlers.context import FollowupContext, FollowupDoor
from services.followup.model import CallbackPolicy
from services.followup.notifications import Notifier, Templates
from services.followup.repository import PostgresFollowupRepository
from services.followup.sla_clocks import ClockRules
from shared.contracts import Channel, ComplaintReceived, WorkOrderAssigned
from shared.db import transactions
from shared.handling import Door
from shared.sla import load_sla_table
from tests.support.followup_events import Order, acknowledged, assigned, new_order, received

SLA = load_sla_table()


def partner(event: ComplaintReceived | WorkOrderAssigned, **changes: object) -> ComplaintReceived | WorkOrderAssigned:
    payload = event.payload.model_copy(update={"channel": Channel.PARTNER_12345, **changes})
    return event.model_copy(update={"payload": payload})


async def clocks(db: asyncpg.Pool, order: Order) -> dict[tuple[str, str], tuple[datetime, bool]]:
    rows = await db.fetch(
        "SELECT kind, stage, due_at, cancelled_at IS NOT NULL AS stopped FROM followup.timers WHERE subject_id = $1",
        order.work_order_id,
    )
    return {(r["kind"], r["stage"]): (r["due_at"], r["stopped"]) for r in rows}


async def test_the_partners_deadline_holds_the_work_order_whichever_comes_first(db: asyncpg.Pool) -> None:
    context = FollowupContext(
        clocks=ClockRules(SLA),
        notifier=Notifier(Templates(), "en", ZoneInfo(SLA.config.timezone)),
        callbacks=CallbackPolicy(max_attempts=3, retry_interval=timedelta(hours=2)),
    )
    door: FollowupDoor = Door(transactions(db, PostgresFollowupRepository), context)
    now = datetime.now(UTC).replace(microsecond=0)
    strict = now + timedelta(days=1)
    late, early = new_order(), new_order()

    async def deliver(subscription: object, event: object) -> None:
        await door.batch(subscription.handler, [event], consumer=subscription.consumer)  # type: ignore[attr-defined]

    await deliver(consumers.WORK_ORDERS, partner(assigned(late, at=now)))
    await deliver(consumers.WORK_ORDERS, acknowledged(late, at=now + timedelta(minutes=5)))
    await deliver(consumers.COMPLAINT_CONTACT, partner(received(late, at=now), partner_deadline_at=strict))
    await deliver(consumers.COMPLAINT_CONTACT, partner(received(early, at=now), partner_deadline_at=strict))
    await deliver(consumers.WORK_ORDERS, partner(assigned(early, at=now)))

    for order in (late, early):
        row = await db.fetchrow(
            "SELECT resolve_by, acknowledge_by FROM followup.work_orders WHERE work_order_id = $1", order.work_order_id
        )
        assert (row["resolve_by"], row["acknowledge_by"]) == (strict, now + timedelta(hours=1))
        timers = await clocks(db, order)
        assert timers[("breach", "resolve")] == (strict, False)
        assert timers[("warning", "resolve")] == (now + (strict - now) * SLA.warning_share, False)
    assert (await clocks(db, late))[("breach", "acknowledge")][1], "a stopped clock stays stopped"
    kept = await db.fetchval(
        "SELECT partner_deadline_at FROM followup.cases WHERE complaint_id = $1", late.complaint_id
    )
    assert kept == strict
