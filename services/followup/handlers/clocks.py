"""Work-order events and the SLA clocks: an assignment starts a work order's clocks (every work order's, an
assisting one's of a coordinated case too: it is a department's work order), each climbing the ladder of the SLA
rule its case matches; a department's step stops the clocks of the stages it completes (`sla_clocks.STOPS`); the
first to sign for a case nobody owned owns it. The resolution's callback is `callbacks.py`'s; the messages to the
customer `work_order_notices.py`'s; a serious case's lead work order goes to management (`serious_cases.py`)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from services.followup.handlers import serious_cases
from services.followup.handlers.context import FollowupWork
from services.followup.model import TrackedWorkOrder
from services.followup.sla_clocks import PARTNER_CHANNELS, STEPS, STOPS, ClockRules, held_to
from shared.contracts import WorkOrderAcknowledged, WorkOrderAssigned, WorkOrderEvent
from shared.logging import bind_case


async def track(event: WorkOrderAssigned, work: FollowupWork) -> None:
    """A newly assigned work order: followup's copy and its clocks, once (a redelivered assignment adds nothing)."""
    await track_all([event], work)


async def track_all(events: Sequence[WorkOrderAssigned], work: FollowupWork) -> None:
    """Newly assigned work orders, set-based: their copies in one statement, all their clocks in one, then
    management told of the serious ones, in the events' order."""
    if not events:
        return
    orders = [tracked_work_order(e, work.context.clocks) for e in events]
    new = await work.repo.track_all(orders)
    first: dict[uuid.UUID, TrackedWorkOrder] = {}
    for order in orders:  # a work order named twice is tracked once: its first copy
        if order.work_order_id in new:
            first.setdefault(order.work_order_id, order)
    await _hold_to_partner_deadlines(first, work)
    await work.repo.schedule_all([plan for o in first.values() for plan in work.context.clocks.work_order_clocks(o)])
    await serious_cases.tell_management(first.values(), work)


async def _hold_to_partner_deadlines(orders: dict[uuid.UUID, TrackedWorkOrder], work: FollowupWork) -> None:
    """New work orders of cases a partner hotline set a stricter deadline on are held to it (`partner_deadlines`).
    Read after tracking them: a partner's deadline being kept at this moment made the case's row wait, so it is
    seen here or the other side sees these work orders. Only a partner's ticket can have one: no statement for
    the rest."""
    partner_cases = sorted({o.complaint_id for o in orders.values() if o.channel in PARTNER_CHANNELS})
    if not partner_cases:
        return
    deadlines = await work.repo.partner_deadlines(partner_cases)
    for complaint_id, deadline in deadlines.items():
        await work.repo.hold_to_deadline(complaint_id, deadline)
    for work_order_id, order in orders.items():
        orders[work_order_id] = held_to(order, deadlines.get(order.complaint_id))


def with_assignments_together(
    use_case: Callable[[Any, FollowupWork], Awaitable[None]],
) -> Callable[[Sequence[Any], FollowupWork], Awaitable[None]]:
    """A batch of work-order events (the door's first deliveries) in their order, each run of consecutive
    assignments tracked together (`track_all`); every other event through `use_case`. Only consecutive assignments
    are grouped, so a step that follows an assignment in the batch still finds its clocks to stop.

    A step of a work order whose assignment has not come (issue 26: a replay, or an older release's relays
    publishing one complaint's events out of order) is held, and applied right after the assignment is tracked: a
    resolved work order then gets no live clock, and its callback still comes."""

    async def handle(events: Sequence[Any], work: FollowupWork) -> None:
        steps = [e.payload.work_order_id for e in events if not isinstance(e, WorkOrderAssigned)]
        tracked = await work.repo.tracked_among(steps) if steps else set()
        run: list[WorkOrderAssigned] = []

        async def assign() -> None:
            await track_all(run, work)
            tracked.update(e.payload.work_order_id for e in run)
            for held in await work.repo.take_held([e.payload.work_order_id for e in run]) if run else ():
                bind_case(complaint_id=str(held.complaint_id))
                await use_case(held, work)  # the steps that came first, now in their place after it
            run.clear()

        for event in events:
            if isinstance(event, WorkOrderAssigned):
                run.append(event)
                continue
            await assign()
            if event.payload.work_order_id not in tracked:
                await work.repo.hold_events([event], work.now)  # before its assignment: held for it
                continue
            bind_case(complaint_id=str(event.complaint_id))
            await use_case(event, work)
        await assign()

    return handle


async def stop(event: WorkOrderEvent, work: FollowupWork) -> None:
    """A step done: recorded on followup's copy (its first time kept), and the clocks of the stages it completes
    cancelled, so a timer that fires is a clock that really ran out."""
    p = event.payload
    await work.repo.record_step(p.work_order_id, p.status.value, STEPS.get(event.event_type), p.at)
    await work.repo.cancel(p.work_order_id, STOPS.get(event.event_type, ()), work.now)


async def adopt_owner(event: WorkOrderAcknowledged, work: FollowupWork) -> None:
    """Whoever signs first for a case nobody took owns it (v2): its callbacks are theirs."""
    if event.payload.owner:
        await work.repo.adopt_owner(event.payload.complaint_id, event.payload.owner)


def tracked_work_order(event: WorkOrderAssigned, clocks: ClockRules) -> TrackedWorkOrder:
    """Followup's copy of an assigned work order: its deadlines, its case's owner and role, the ladder it climbs."""
    p, d = event.payload, event.payload.deadlines
    return TrackedWorkOrder(
        work_order_id=p.work_order_id,
        complaint_id=p.complaint_id,
        reference_no=p.reference_no,
        department=p.department.value,
        cycle=p.cycle,
        category=p.category.value,
        severity=p.severity.value,
        channel=p.channel.value,
        starts_at=d.starts_at,
        acknowledge_by=d.acknowledge_by,
        on_site_by=d.on_site_by,
        resolve_by=d.resolve_by,
        interim_reply_by=d.interim_reply_by,
        callback_limit=d.callback_limit,
        correlation_id=event.correlation_id,
        owner=p.owner,
        role=p.role,
        district=p.location.district,
        ladder=clocks.ladder_for(p.category.value, p.severity.value, d.starts_at, p.location.district),
        lead_work_order_id=p.lead_work_order_id,
    )
