"""A supervisor's word on where a complaint goes when dispatch could not decide, or decided it is not ours: a
doubtful complaint routed from the triage queue (`decide`) or closed there as invalid (`close_as_invalid`), and an
invalid one found valid after all (`overturn_invalid`). Each is kept as a labelled example (or a classification),
the supervisor owns a case nobody took, and a routed one gets its clocks from acceptance.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from services.dispatch import events
from services.dispatch.errors import Conflict, NotFound
from services.dispatch.events import RouteReason
from services.dispatch.handlers.classifications import learn, record_classification
from services.dispatch.handlers.context import DispatchWork
from services.dispatch.model import Actor, Case, WorkOrderView
from services.dispatch.repository import DispatchRepository
from services.dispatch.routing import Route, department_for
from shared.contracts import Category, Severity
from shared.logging import get_logger

log = get_logger(__name__)


def who(actor: Actor) -> str:
    """How a decision's reasons name its maker: a person by name and staff id, a credential by its name."""
    return f"{actor.label} ({actor.name})" if actor.is_person else actor.name


async def locked_case(
    repo: DispatchRepository,
    complaint_id: uuid.UUID,
    allowed: Callable[[Case], bool] = lambda _: True,
    otherwise: str = "",
) -> Case:
    """The case, locked for a supervisor's decision; NotFound when there is none, Conflict (`complaint <ref>
    <otherwise>`) when its state does not allow the decision."""
    case = await repo.get_case(complaint_id, lock=True)
    if case is None:
        raise NotFound(f"no complaint {complaint_id}")
    if not allowed(case):
        raise Conflict(f"complaint {case.reference_no} {otherwise}")
    return case


@dataclass(frozen=True)
class Decide:
    """A supervisor's category (and severity) for a doubtful complaint, or for an invalid one found valid (where the
    category may stay as it was)."""

    complaint_id: uuid.UUID
    category: Category | None
    severity: Severity | None
    note: str
    actor: Actor


async def decide(command: Decide, work: DispatchWork) -> WorkOrderView:
    """A doubtful complaint routed as any other, its clocks from acceptance. Raises NotFound, Conflict (not waiting
    in triage)."""
    case = await locked_case(work.repo, command.complaint_id, lambda c: c.awaiting_triage, "is not waiting in triage")
    assert command.category is not None
    route = Route(
        category=command.category,
        department=department_for(command.category, work.context.rules),
        severity=command.severity or Severity(case.severity),
        reasons=(f"triaged by {who(command.actor)}: {command.note}",),
    )
    changes = {"triaged_at": work.now, "triaged_by": command.actor.name}
    view = await _route_decided(work, case, route, changes, "triage", "new", command)
    log.info("complaint triaged", category=command.category.value, by=command.actor.name)
    return view


async def overturn_invalid(command: Decide, work: DispatchWork) -> WorkOrderView:
    """An invalid complaint valid after all: routed as any other (its clocks from acceptance, `complaint.routed`
    reason `reclassified`). Raises NotFound, Conflict (the case is not closed as invalid)."""
    case = await locked_case(work.repo, command.complaint_id, lambda c: c.closed_invalid, "is not closed as invalid")
    chosen = command.category or Category(case.category)
    route = Route(
        category=chosen,
        department=department_for(chosen, work.context.rules),
        severity=command.severity or Severity(case.severity),
        reasons=(f"valid after all, decided by {who(command.actor)} (was: {case.invalid_reason}): {command.note}",),
    )
    changes = {"valid": True, "invalid_reason": None}
    view = await _route_decided(work, case, route, changes, "validity", "reclassified", command)
    log.info("invalid complaint overturned", category=chosen.value, by=command.actor.name)
    return view


async def _route_decided(
    work: DispatchWork,
    case: Case,
    route: Route,
    changes: dict[str, Any],
    source: str,
    why: RouteReason,
    command: Decide,
) -> WorkOrderView:
    """A supervisor decided where a complaint goes: the decision is kept as a labelled example, the supervisor owns
    a case nobody took, and it is routed with its clocks from acceptance."""
    actor, repo = command.actor, work.repo
    await learn(work, case, route, source=source, actor=actor.name)
    changes = changes | {
        "category": route.category.value,
        "severity": route.severity.value,
        "owner": case.owner or actor.name,
        "owner_name": case.owner_name if case.owner else actor.label,
    }
    await repo.update_case(case.complaint_id, **changes)
    case = replace(case, **changes)
    await record_classification(work, case, route, actor=actor.name, reason=command.note)
    order = await work.context.orders.open(
        repo,
        case,
        route,
        cycle=case.cycle,
        start=case.accepted_at,
        previous=None,
        actor=actor.name,
        actor_name=actor.label,
        at=work.now,
    )
    work.emit(events.routed(case, order, list(route.reasons), why, None, work.now))
    return WorkOrderView(order, await repo.history(order.work_order_id))


@dataclass(frozen=True)
class CloseAsInvalid:
    complaint_id: uuid.UUID
    reason: str
    actor: Actor


async def close_as_invalid(command: CloseAsInvalid, work: DispatchWork) -> Case:
    """A complaint waiting in triage closed as invalid: no work order, `complaint.invalid` with the supervisor's
    reason. Raises NotFound, Conflict (not waiting in triage)."""
    repo, actor, reason, now = work.repo, command.actor, command.reason, work.now
    case = await locked_case(repo, command.complaint_id, lambda c: c.awaiting_triage, "is not waiting in triage")
    changes: dict[str, Any] = {
        "valid": False,
        "invalid_reason": reason,
        "invalid_at": now,
        "invalid_by": actor.name,
        "triaged_at": now,
        "triaged_by": actor.name,
        "owner": case.owner or actor.name,
        "owner_name": case.owner_name if case.owner else actor.label,
    }
    await repo.update_case(command.complaint_id, **changes)
    case = replace(case, **changes)
    await repo.add_classification(
        complaint_id=command.complaint_id,
        category=case.category,
        severity=case.severity,
        actor=actor.name,
        reason=reason,
        reasons=[f"invalid, decided by {who(actor)}: {reason}"],
        at=now,
    )
    work.emit(events.invalid(case, None, now, decided_by=actor))
    log.info("complaint closed as invalid in triage", by=actor.name)
    return case
