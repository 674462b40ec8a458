"""Work-order events and the SLA clocks: an assignment starts a work order's clocks (every work order's, an
assisting one's of a coordinated case too: it is a department's work order), each climbing the ladder of the SLA
rule its case matches; a department's step stops the clocks of the stages it completes (`sla_clocks.STOPS`); the
first to sign for a case nobody owned owns it. The resolution's callback is `callbacks.py`'s; the messages to the
customer `work_order_notices.py`'s; a serious case's lead work order goes to management (`serious_cases.py`)."""

from __future__ import annotations

from services.followup.handlers import serious_cases
from services.followup.handlers.context import FollowupWork
from services.followup.model import TrackedWorkOrder
from services.followup.sla_clocks import STEPS, STOPS, ClockRules
from shared.contracts import WorkOrderAcknowledged, WorkOrderAssigned, WorkOrderEvent


async def track(event: WorkOrderAssigned, work: FollowupWork) -> None:
    """A newly assigned work order: followup's copy and its clocks, once (a redelivered assignment adds nothing)."""
    order = tracked_work_order(event, work.context.clocks)
    if not await work.repo.track(order):
        return
    for plan in work.context.clocks.work_order_clocks(order):
        await work.repo.schedule(plan)
    await serious_cases.tell_management(order, work)


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
