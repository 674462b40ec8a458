"""A department's own steps on a work order (pure): what acknowledging, starting, returning or a note write on the
work order and record in its history, the event each publishes, and how a refusal names whose work order it is.
Field steps are `field_work.py`'s, resolutions `resolution.py`'s; which step is allowed when, `workorders/lifecycle.py`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.dispatch import events
from services.dispatch.model import Actor, Case, Step, WorkOrder
from services.dispatch.workorders.lifecycle import Action
from shared.contracts import Event


def not_theirs(order: WorkOrder, actor: Actor) -> str:
    """Why `actor` may not act on `order`: another crew's job, or another department's work order."""
    if actor.crew is not None and order.department == actor.department:
        return f"work order {order.work_order_id} is not assigned to crew {actor.crew}"
    return f"work order {order.work_order_id} belongs to {order.department}"


def step_effects(step: Step, order: WorkOrder, now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """What a department's step writes on the work order, and what its history entry records."""
    if step.action is Action.ACKNOWLEDGE:
        return {"acknowledged_at": now}, {}
    if step.action is Action.START:
        # The first arrival keeps its time (the on-site clock stopped then); a visit after a missed one is recorded.
        return {"started_at": order.started_at or now}, {"crew": order.crew} if order.crew else {}
    if step.action is Action.RETURN:
        return {"closing_reason": step.reason}, {"reason": step.reason}
    if step.action is Action.NOTE:
        return {}, {"note": step.note}
    return {}, {}


def step_event(step: Step, order: WorkOrder, case: Case, actor: Actor, now: datetime) -> Event:
    """The event of an acknowledgement, a start or a note."""
    if step.action is Action.ACKNOWLEDGE:
        return events.acknowledged(order, case, actor, now)
    if step.action is Action.START:
        return events.started(order, case, actor, now)
    if step.action is Action.NOTE:
        return events.note_added(order, case, actor, now, step.note or "")
    raise ValueError(f"{step.action.value} is not a department's step")
