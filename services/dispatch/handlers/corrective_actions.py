"""Corrective actions of serious cases: set when such a case is resolved (`resolution.py` requires one) or later
by a supervisor, completed with an outcome. Each change is a `corrective_action.*` event on the
`corrective-actions` topic (events.py), written through the outbox with the change; followup holds each action to
its deadline, reporting lists them in the leadership report.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any

from services.dispatch import events
from services.dispatch.errors import Conflict, Invalid, NotFound
from services.dispatch.handlers.context import DispatchWork
from services.dispatch.model import Actor, Case, CorrectiveAction, CorrectiveActionPlan, WorkOrder
from services.dispatch.routing import department_for
from shared.contracts import Category
from shared.logging import get_logger

log = get_logger(__name__)


async def record(
    work: DispatchWork,
    plans: tuple[CorrectiveActionPlan, ...],
    *,
    case: Case,
    work_order: WorkOrder | None,
    department: str,
    severity: str,
    actor: str,
) -> list[CorrectiveAction]:
    """Store these actions for the case and announce each."""
    stored: list[CorrectiveAction] = []
    for plan in plans:
        action = CorrectiveAction(
            action_id=uuid.uuid4(),
            complaint_id=case.complaint_id,
            reference_no=case.reference_no,
            work_order_id=work_order.work_order_id if work_order else None,
            department=department,
            severity=severity,
            description=plan.description,
            owner=plan.owner,
            deadline=plan.deadline,
            status="open",
            set_by=actor,
            set_at=work.now,
        )
        await work.repo.insert_corrective_action(action)
        stored.append(action)
    work.emit(events.corrective_action_set(a, case) for a in stored)
    return stored


@dataclass(frozen=True)
class SetAction:
    """A supervisor's corrective action on a case (or an incident, by its id)."""

    complaint_id: uuid.UUID
    plan: CorrectiveActionPlan
    actor: Actor


async def set_action(command: SetAction, work: DispatchWork) -> CorrectiveAction:
    """A new corrective action on a case. Raises NotFound, Invalid naming `deadline` (not in the future)."""
    case, department = await _case_and_department(work, command.complaint_id)
    if command.plan.deadline <= work.now:
        raise Invalid(f"deadline {command.plan.deadline.isoformat()} is not in the future", field="deadline")
    (action,) = await record(
        work,
        (command.plan,),
        case=case,
        work_order=None,
        department=department,
        severity=case.severity,
        actor=command.actor.name,
    )
    log.info("corrective action set", action_id=str(action.action_id), by=command.actor.name)
    return action


@dataclass(frozen=True)
class Complete:
    action_id: uuid.UUID
    outcome: str
    actor: Actor


async def complete(command: Complete, work: DispatchWork) -> CorrectiveAction:
    """Record a corrective action done. Raises NotFound, Conflict (already done)."""
    action_id = command.action_id
    action = await work.repo.get_corrective_action(action_id, lock=True)
    if action is None:
        raise NotFound(f"no corrective action {action_id}")
    if action.status == "done":
        raise Conflict(f"corrective action {action_id} was completed at {action.completed_at}")
    case, _ = await _case_and_department(work, action.complaint_id)
    changes: dict[str, Any] = {
        "status": "done",
        "outcome": command.outcome,
        "completed_by": command.actor.name,
        "completed_at": work.now,
    }
    await work.repo.update_corrective_action(action_id, **changes)
    done = replace(action, **changes)
    work.emit(events.corrective_action_completed(done, case))
    log.info("corrective action completed", action_id=str(action_id), by=command.actor.name)
    return done


@dataclass(frozen=True)
class Find:
    status: str | None
    overdue: bool
    #: A department's own only; None: every department's.
    department: str | None
    limit: int


async def find(query: Find, work: DispatchWork) -> list[CorrectiveAction]:
    """Actions, nearest deadline first; `overdue`: open past their deadline now."""
    return await work.repo.corrective_actions(
        status=query.status,
        overdue_at=work.now if query.overdue else None,
        department=query.department,
        limit=query.limit,
    )


async def _case_and_department(work: DispatchWork, complaint_id: uuid.UUID) -> tuple[Case, str]:
    """The case (an incident as its work order's case) and the department answering for it: its lead work
    order's, else its category's."""
    case = await work.repo.get_case(complaint_id)
    if case is None:
        incident = await work.repo.get_incident(complaint_id)
        if incident is None:
            raise NotFound(f"no complaint or incident {complaint_id}")
        case = incident.as_case()
    latest = await work.repo.latest_work_order_of_case(complaint_id)
    if latest is not None:
        return case, latest.department
    return case, department_for(Category(case.category), work.context.rules).value
