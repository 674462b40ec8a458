"""A coordinated case's part given a new deadline by the customer-service centre (`workorder.deadline_set`, issue 24,
seed 002): the tracked work order's resolve deadline moves, and so do its pending resolve timers (warning and
breach rungs; fired or stopped ones stay as they are), so the part is held to the deadline the centre set."""

from __future__ import annotations

from services.followup.handlers.context import FollowupWork
from shared.contracts.dispatch import WorkOrderDeadlineSet
from shared.logging import get_logger

log = get_logger(__name__)


async def moved(event: WorkOrderDeadlineSet, work: FollowupWork) -> None:
    p = event.payload
    order = await work.repo.set_resolve_by(p.work_order_id, p.resolve_by)
    if order is None:
        return  # not tracked (yet): its assignment, tracked later, carries dispatch's deadline as it stands then
    plans = [plan for plan in work.context.clocks.work_order_clocks(order) if plan.stage == "resolve"]
    await work.repo.reschedule(plans)
    log.info("part's resolve deadline moved", work_order_id=str(p.work_order_id))
