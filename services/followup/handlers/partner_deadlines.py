"""A partner hotline's deadline (12345, 95598: `complaint.received` v4 `partner_deadline_at`) becomes the case's
when it is stricter than the policy's.

The deadline arrives with the complaint, the work orders later from dispatch — on other topics, so possibly first.
Both orders end the same: the deadline is kept on the case, and whichever comes second applies it — an assignment
tracked later is held to it as it is tracked (`clocks.track_all`, `sla_clocks.held_to`); work orders tracked
already have their deadlines brought down here and their pending clocks moved (fired or stopped ones stay).
"""

from __future__ import annotations

from services.followup.handlers.context import FollowupWork
from services.followup.sla_clocks import PARTNER_HELD_STAGES
from shared.contracts import ComplaintReceived
from shared.logging import get_logger

log = get_logger(__name__)


async def hold_to_partner_deadline(event: ComplaintReceived, work: FollowupWork) -> None:
    p = event.payload
    if p.partner_deadline_at is None:
        return
    await work.repo.set_partner_deadline(p.complaint_id, p.reference_no, p.partner_deadline_at)
    clocks = work.context.clocks
    for order in await work.repo.hold_to_deadline(p.complaint_id, p.partner_deadline_at):
        plans = [plan for plan in clocks.work_order_clocks(order) if plan.stage in PARTNER_HELD_STAGES]
        await work.repo.reschedule(plans)
        log.info("work order held to the partner's deadline", work_order_id=str(order.work_order_id))
