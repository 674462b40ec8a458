"""Corrective actions of serious cases: set when such a case is resolved (resolution.py requires one) or later
by a supervisor, completed with an outcome. Each change is a `corrective_action.*` event on the
`corrective-actions` topic, written through the outbox in the same transaction; followup holds each action to
its deadline (warnings, the corrective-action ladder), reporting lists them in the leadership report.

The events are built here rather than in events.py because nothing else publishes them and they are built from
the `CorrectiveAction` row alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from services.dispatch.classification import Rules
from services.dispatch.events import PRODUCER
from services.dispatch.model import (
    Actor,
    Case,
    Conflict,
    CorrectiveAction,
    CorrectiveActionPlan,
    Invalid,
    NotFound,
    WorkOrder,
)
from services.dispatch.repository import DispatchRepository
from services.dispatch.routing import department_for
from shared.contracts import (
    Category,
    CorrectiveActionCompleted,
    CorrectiveActionCompletedPayload,
    CorrectiveActionFacts,
    CorrectiveActionSet,
    Event,
    new_event,
)
from shared.db import Transactions
from shared.logging import get_logger

log = get_logger(__name__)


def _facts(action: CorrectiveAction, actor: str, at: datetime) -> dict[str, Any]:
    return {
        "action_id": action.action_id,
        "complaint_id": action.complaint_id,
        "reference_no": action.reference_no,
        "work_order_id": action.work_order_id,
        "department": action.department,
        "severity": action.severity,
        "description": action.description,
        "owner": action.owner,
        "deadline": action.deadline,
        "status": action.status,
        "actor": actor,
        "at": at,
    }


def _envelope(case: Case, at: datetime) -> dict[str, Any]:
    return {
        "complaint_id": case.complaint_id,
        "producer": PRODUCER,
        "correlation_id": case.correlation_id,
        "occurred_at": at,
    }


def action_set(action: CorrectiveAction, case: Case) -> Event:
    return new_event(
        CorrectiveActionSet,
        payload=CorrectiveActionFacts(**_facts(action, action.set_by, action.set_at)),
        **_envelope(case, action.set_at),
    )


def action_completed(action: CorrectiveAction, case: Case) -> Event:
    assert action.completed_at is not None and action.completed_by is not None
    return new_event(
        CorrectiveActionCompleted,
        payload=CorrectiveActionCompletedPayload(
            **_facts(action, action.completed_by, action.completed_at),
            outcome=action.outcome or "",
        ),
        **_envelope(case, action.completed_at),
    )


async def record(
    repo: DispatchRepository,
    plans: tuple[CorrectiveActionPlan, ...],
    *,
    case: Case,
    work_order: WorkOrder | None,
    department: str,
    severity: str,
    actor: str,
    at: datetime,
) -> tuple[list[CorrectiveAction], list[Event]]:
    """Store these actions for the case (inside the caller's unit of work) and the events announcing them."""
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
            set_at=at,
        )
        await repo.insert_corrective_action(action)
        stored.append(action)
    return stored, [action_set(a, case) for a in stored]


@dataclass
class CorrectiveActionDesk:
    """Supervisors set corrective actions on a case after its resolution and record them done. One unit of
    work per call, committed here like the Dispatcher's."""

    transactions: Transactions[DispatchRepository]
    rules: Rules
    clock: Callable[[], datetime]

    async def set(self, complaint_id: uuid.UUID, plan: CorrectiveActionPlan, actor: Actor) -> CorrectiveAction:
        """A new corrective action on a case (or an incident, by its id). Raises NotFound, Invalid (deadline past)."""
        async with self.transactions() as work:
            repo = work.repo
            case, department = await _case_and_department(repo, complaint_id, self.rules)
            now = self.clock()
            if plan.deadline <= now:
                raise Invalid(f"deadline {plan.deadline.isoformat()} is not in the future")
            (action,), emitted = await record(
                repo,
                (plan,),
                case=case,
                work_order=None,
                department=department,
                severity=case.severity,
                actor=actor.name,
                at=now,
            )
            await repo.add_events(emitted)
            work.commit()
        log.info("corrective action set", action_id=str(action.action_id), by=actor.name)
        return action

    async def complete(self, action_id: uuid.UUID, outcome: str, actor: Actor) -> CorrectiveAction:
        """Record a corrective action done. Raises NotFound, Conflict (already done)."""
        async with self.transactions() as work:
            repo = work.repo
            action = await repo.get_corrective_action(action_id, lock=True)
            if action is None:
                raise NotFound(f"no corrective action {action_id}")
            if action.status == "done":
                raise Conflict(f"corrective action {action_id} was completed at {action.completed_at}")
            case, _ = await _case_and_department(repo, action.complaint_id, self.rules)
            now = self.clock()
            changes: dict[str, Any] = {
                "status": "done",
                "outcome": outcome,
                "completed_by": actor.name,
                "completed_at": now,
            }
            await repo.update_corrective_action(action_id, **changes)
            done = replace(action, **changes)
            await repo.add_events([action_completed(done, case)])
            work.commit()
        log.info("corrective action completed", action_id=str(action_id), by=actor.name)
        return done

    async def find(
        self, *, status: str | None, overdue: bool, department: str | None, limit: int
    ) -> list[CorrectiveAction]:
        """Actions, nearest deadline first; `overdue`: open past their deadline now; `department`: its own only."""
        async with self.transactions() as work:
            return await work.repo.corrective_actions(
                status=status, overdue_at=self.clock() if overdue else None, department=department, limit=limit
            )


async def _case_and_department(repo: DispatchRepository, complaint_id: uuid.UUID, rules: Rules) -> tuple[Case, str]:
    """The case (an incident as its work order's case) and the department answering for it: its lead work
    order's, else its category's."""
    case = await repo.get_case(complaint_id)
    if case is None:
        incident = await repo.get_incident(complaint_id)
        if incident is None:
            raise NotFound(f"no complaint or incident {complaint_id}")
        case = incident.as_case()
    latest = await repo.latest_work_order_of_case(complaint_id)
    if latest is not None:
        return case, latest.department
    return case, department_for(Category(case.category), rules).value
