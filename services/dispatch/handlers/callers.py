"""Telling the callers waiting on a fault: an incident's or an outage's callers, or the same-account duplicates of a
case, each get `complaint.fault_fixed` with the callback limit of their own case (followup calls them back)."""

from __future__ import annotations

from services.dispatch import events
from services.dispatch.handlers.context import DispatchWork
from services.dispatch.model import Case, WorkOrder
from services.dispatch.routing import department_for
from shared.contracts import Category


async def tell_fixed(
    work: DispatchWork,
    callers: list[Case],
    *,
    work_order: WorkOrder | None,
    department: str | None,
    resolution: str,
) -> None:
    """Tell each caller their fault is fixed; each gets the callback limit of their own case."""
    at, context = work.now, work.context
    for case in callers:
        await work.repo.update_case(case.complaint_id, fixed_at=at)
        work.emit(
            events.fault_fixed(
                case,
                work_order=work_order,
                department=department or department_for(Category(case.category), context.rules).value,
                resolution=resolution,
                callback_limit=context.orders.callback_limit(case, at),
                at=at,
            )
        )
