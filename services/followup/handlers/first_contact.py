"""A complaint settled at first contact (`complaint.resolved_on_contact`): no work order, but called back like
one — the resolution id stands for it — for the agent who settled it (its owner)."""

from __future__ import annotations

from services.followup.handlers import callbacks
from services.followup.handlers.context import FollowupWork
from shared.contracts import ComplaintResolvedOnContact


async def call_back(event: ComplaintResolvedOnContact, work: FollowupWork) -> None:
    p, clocks = event.payload, work.context.clocks
    await work.repo.open_case(p.complaint_id, p.reference_no)
    scheduled = await callbacks.start_callback(
        event,
        work,
        work_order_id=p.resolution_id,
        department=p.department.value,
        cycle=1,
        resolution=p.handled_on_contact,
        due_at=clocks.callback_due(p.resolved_at, p.callback_limit),
        at=p.resolved_at,
        severity=p.severity.value,
        owner=p.owner,
        ladder=clocks.ladder_for(p.category.value, p.severity.value, p.resolved_at, p.district),
    )
    if scheduled is not None:
        work.emit(scheduled)
