"""Corrective actions of serious cases, held to their deadlines.

Leadership sets each action with an owner and a deadline (`corrective_action.set`, topic `corrective-actions`);
followup starts a clock to that deadline: at `warning_share` of it the owner and the first rung of
`[follow_through].corrective_action_ladder` are warned, at the deadline the case climbs that ladder rung by rung
(the timers fire in `due_timers.py` like every clock). `corrective_action.completed` stops it.
"""

from __future__ import annotations

from services.followup.handlers.context import FollowupWork
from services.followup.model import CorrectiveAction
from shared.contracts import CorrectiveActionCompleted, CorrectiveActionSet
from shared.logging import get_logger

log = get_logger(__name__)
STAGE = "corrective_action"


async def hold(event: CorrectiveActionSet, work: FollowupWork) -> None:
    """An action set: kept (for the resolution's message too), and an open one held to its deadline, once."""
    p = event.payload
    action = CorrectiveAction(
        action_id=p.action_id,
        complaint_id=p.complaint_id,
        reference_no=p.reference_no,
        work_order_id=p.work_order_id,
        department=p.department.value,
        owner=p.owner,
        deadline=p.deadline,
        status=p.status,
        correlation_id=event.correlation_id,
        set_at=p.at,
        description=p.description,
    )
    if not await work.repo.add_corrective_action(action) or p.status != "open":
        return
    await work.repo.schedule_all(
        work.context.clocks.corrective_action_clock(p.complaint_id, p.action_id, p.at, p.deadline)
    )
    log.info("corrective action held to its deadline", action_id=str(p.action_id))


async def done(event: CorrectiveActionCompleted, work: FollowupWork) -> None:
    """An action completed: its clock stops."""
    p = event.payload
    await work.repo.complete_corrective_action(p.action_id, p.at)
    await work.repo.cancel(p.action_id, [STAGE], work.now)
