"""Coordinated cases: a complaint that needs several departments has one lead work order, whose department
coordinates, and assisting work orders for the others (the rules: `services/dispatch/README.md`, "Coordinated
cases").

- The lead's department (or a supervisor) asks another department to assist (`assist`): an assisting work order
  opens for it in the same case and cycle, with its own deadlines (`routing.route_assisting`), announced with
  `workorder.assigned` (role `assisting`). Not on a closed lead (409), nor for the lead's own department or one
  already assisting, nor on an incident's work order (422).
- The case is resolved when every open work order of it is (`others_open`).
- An assisting department that returns its work order just closes it (`check_hand_back`; `workorder.returned`
  names the lead): the case stays with its lead.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from services.dispatch import events
from services.dispatch.errors import Conflict, Forbidden, Invalid, NotFound
from services.dispatch.handlers.context import DispatchWork
from services.dispatch.model import Actor, WorkOrder, WorkOrderView
from services.dispatch.repository import DispatchRepository
from services.dispatch.routing import route_assisting
from services.dispatch.workorders.lifecycle import OPEN
from shared.contracts import Department, WorkOrderStatus
from shared.logging import bind_case, get_logger

log = get_logger(__name__)


async def others_open(repo: DispatchRepository, order: WorkOrder) -> list[WorkOrder]:
    """The case's open work orders besides `order`: while any remains, the case is not resolved."""
    case_orders = await repo.open_work_orders_of_case(order.complaint_id)
    return [o for o in case_orders if o.work_order_id != order.work_order_id]


async def lead_of(repo: DispatchRepository, order: WorkOrder) -> WorkOrder:
    """An assisting work order's lead."""
    assert order.lead_work_order_id is not None, "an assisting work order names its lead"
    lead = await repo.get_work_order(order.lead_work_order_id)
    assert lead is not None
    return lead


async def check_hand_back(repo: DispatchRepository, order: WorkOrder) -> WorkOrder:
    """An assisting work order may be returned while its lead is open; raises Conflict otherwise."""
    lead = await lead_of(repo, order)
    if WorkOrderStatus(lead.status) not in OPEN:
        raise Conflict(
            f"the lead work order {lead.work_order_id} is {lead.status}: resolve this assisting work order instead"
        )
    return lead


@dataclass(frozen=True)
class Assist:
    lead_work_order_id: uuid.UUID
    department: Department
    note: str
    actor: Actor


async def assist(command: Assist, work: DispatchWork) -> WorkOrderView:
    """Ask `department` to assist the case of this lead work order. Raises NotFound, Forbidden (another
    department's lead), Conflict (the lead is closed), Invalid naming `department` (not a lead, an incident's, the
    lead's own department, or one already assisting)."""
    repo, actor, department = work.repo, command.actor, command.department
    lead = await _lead_taking_help(repo, command)
    case = await repo.get_case(lead.complaint_id, lock=True)
    assert case is not None
    bind_case(complaint_id=str(case.complaint_id), correlation_id=case.correlation_id)
    route = route_assisting(case, lead, department, by=actor.name, note=command.note, rules=work.context.rules)
    order = await work.context.orders.open(
        repo,
        case,
        route,
        cycle=lead.cycle,
        start=work.now,
        previous=None,
        actor=actor.name,
        actor_name=actor.label,
        at=work.now,
        lead=lead,
    )
    await _note_on_lead(work, lead, order, command)
    why: events.RouteReason = "reopened" if lead.cycle > 1 else "new"
    work.emit(events.assigned(case, order, list(route.reasons), why, None, work.now))
    log.info("assisting work order opened", department=department.value, lead=str(lead.work_order_id))
    return WorkOrderView(order, await repo.history(order.work_order_id))


async def _lead_taking_help(repo: DispatchRepository, command: Assist) -> WorkOrder:
    """The lead work order, when it may take this department's assistance."""
    lead_id, department = command.lead_work_order_id, command.department
    lead = await repo.get_work_order(lead_id, lock=True)
    if lead is None:
        raise NotFound(f"no work order {lead_id}")
    if not command.actor.may_handle(lead.department):
        raise Forbidden(f"work order {lead_id} belongs to {lead.department}")
    if WorkOrderStatus(lead.status) not in OPEN:
        raise Conflict(f"work order {lead_id} is {lead.status}: a closed case takes no assistance")
    if lead.role != "lead":
        raise Invalid(f"work order {lead_id} assists {lead.lead_work_order_id}: ask on the lead", field="department")
    if lead.incident_id is not None:
        raise Invalid("an incident's work order takes no assisting work orders", field="department")
    if department.value == lead.department:
        raise Invalid(f"{department.value} leads this case: ask another department to assist", field="department")
    assisting = [o for o in await repo.open_work_orders_of_case(lead.complaint_id) if o.role == "assisting"]
    already = next((o for o in assisting if o.department == department.value), None)
    if already is not None:
        raise Invalid(
            f"{department.value} already assists this case (work order {already.work_order_id})", field="department"
        )
    return lead


async def _note_on_lead(work: DispatchWork, lead: WorkOrder, order: WorkOrder, command: Assist) -> None:
    await work.repo.add_history(
        work_order_id=lead.work_order_id,
        action="assist",
        from_status=lead.status,
        to_status=lead.status,
        actor=command.actor.name,
        actor_name=command.actor.label,
        details={
            "department": command.department.value,
            "assisting_work_order_id": str(order.work_order_id),
            "note": command.note,
        },
        at=work.now,
    )
