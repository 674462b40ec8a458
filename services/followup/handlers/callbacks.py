"""Every resolved case gets a callback (100 % callback), with its own clock, for the case's owner: a pending
`callbacks` row, once per caller and work order (a redelivery adds nothing), and the clocks that hold the agents to
its due time. Started by a work order's resolution (here), a linked caller's fault fixed (`callers.py`) and a
complaint settled at first contact (`first_contact.py`); what comes of the call is `outcomes.py`'s.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from services.followup import events
from services.followup.handlers import work_order_notices
from services.followup.handlers.context import FollowupWork
from services.followup.model import Callback, TrackedWorkOrder
from services.followup.repository import FollowupRepository
from shared.contracts import ComplaintFaultFixed, ComplaintResolvedOnContact, Event, WorkOrderResolved
from shared.logging import get_logger

log = get_logger(__name__)


async def on_resolved(event: WorkOrderResolved, work: FollowupWork) -> None:
    """Every resolved case gets a callback, for the case's owner — except an incident's (its callers each get
    theirs, `complaint.fault_fixed`) and a coordinated case's work order while others are open (`case_resolved`
    false: the last one resolved calls back). A coordinated case is called back on its lead work order, whichever
    resolved it last. The customer is told what was done, why and what will change (`case_resolved`) before the
    callback is scheduled."""
    p, clocks = event.payload, work.context.clocks
    order = await work.repo.record_resolution(p.work_order_id, p.resolution)
    if not p.case_resolved or await work.repo.is_incident_work_order(p.work_order_id):
        return
    order = await case_order(work.repo, order)
    scheduled = await start_callback(
        event,
        work,
        work_order_id=order.work_order_id if order else p.work_order_id,
        department=order.department if order else p.department.value,
        cycle=order.cycle if order else p.cycle,
        resolution=p.resolution,
        due_at=clocks.callback_due(p.at, order.callback_limit if order else None),
        at=p.at,
        owner=order.owner if order else None,
        ladder=order.ladder if order else "default",
    )
    if scheduled is None:
        return  # this resolution was handled already
    await work_order_notices.case_resolved(event, order, work)
    work.emit(scheduled)


async def case_order(repo: FollowupRepository, order: TrackedWorkOrder | None) -> TrackedWorkOrder | None:
    """The work order a case's callback is tied to: an assisting one's lead (dispatch reopens the case and tells
    its callers through the lead, so a dissatisfied customer must name it), else the order itself."""
    if order is None or order.role != "assisting" or order.lead_work_order_id is None:
        return order
    lead = await repo.work_order(order.lead_work_order_id)
    if lead is None:
        log.warning("assisting work order's lead is not tracked", lead_work_order_id=order.lead_work_order_id)
        return order
    return lead


async def start_callback(
    event: WorkOrderResolved | ComplaintFaultFixed | ComplaintResolvedOnContact,
    work: FollowupWork,
    *,
    work_order_id: uuid.UUID,
    department: str,
    cycle: int,
    resolution: str | None,
    due_at: datetime,
    at: datetime,
    severity: str | None = None,
    owner: str | None = None,
    ladder: str = "default",
) -> Event | None:
    """A pending callback with its own clock, once per caller and work order; its `callback.scheduled`, for the
    caller to emit in its place among the messages (None when the callback existed already). A linked caller's own
    severity and correlation id are kept: the work order is not theirs alone (nor is there one for a complaint
    settled at first contact)."""
    callback = Callback(
        callback_id=uuid.uuid4(),
        complaint_id=event.payload.complaint_id,
        work_order_id=work_order_id,
        reference_no=event.payload.reference_no,
        department=department,
        cycle=cycle,
        resolution=resolution,
        due_at=due_at,
        status="pending",
        attempts=0,
        next_attempt_at=at,
        created_at=at,
        completed_at=None,
        last_note=None,
        last_agent=None,
        severity=severity,
        correlation_id=event.correlation_id if severity is not None else None,
        owner=owner,
        ladder=ladder,
    )
    plans = work.context.clocks.callback_clocks(callback.complaint_id, callback.callback_id, at, due_at, ladder)
    if not await work.repo.add_callback(callback):
        return None
    await work.repo.schedule_all(plans)
    return events.callback_scheduled(callback, correlation_id=event.correlation_id, causation_id=event.event_id)
