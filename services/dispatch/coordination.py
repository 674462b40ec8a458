"""Coordinated cases: a complaint that needs several departments (a leak that also needs a billing correction)
has one lead work order, whose department coordinates, and assisting work orders for the others.

- The lead's department (or a supervisor) asks another department to assist: an assisting work order opens for
  it in the same case and cycle, with its own deadlines from the SLA policy (`routing.route_assisting`), and is
  announced with `workorder.assigned` (role `assisting`, `lead_work_order_id`) on that department's topic; it is
  in that department's queue like any other. Not on a closed lead (409), nor for the lead's own department or one
  already assisting (422), nor on an incident's work order (422: an incident has one crew's work order).
- The case is resolved when every open work order of it is: each `workorder.resolved` carries `case_resolved`,
  true only when no other work order of the case is still open; only then are the case's waiting callers
  (same-account duplicates) told it is fixed.
- An assisting department that returns its work order ("not ours") just closes it: the case stays with its lead
  (`workorder.returned` names the lead's department and work order), and nothing is re-routed. While the lead is
  closed it cannot be returned (409): the last open part of a case is resolved, so the case can close.
- Everything that assumed one open work order per case (duplicates, reclassification, reopening, incidents
  merging earlier callers) reads the lead; when a lead closes in favour of a new one (return, reclassification),
  its open assisting work orders follow the new lead.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from services.dispatch import events
from services.dispatch.classification import Rules
from services.dispatch.model import Actor, Case, Conflict, Forbidden, Invalid, NotFound, WorkOrder, WorkOrderView
from services.dispatch.repository import DispatchRepository
from services.dispatch.routing import route_assisting
from services.dispatch.workorders.lifecycle import OPEN
from services.dispatch.workorders.opening import WorkOrderOpener
from shared.contracts import Department, Event, WorkOrderStatus
from shared.db import Transactions
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


def handed_back(returned: WorkOrder, case: Case, lead: WorkOrder, actor: Actor, reason: str, at: datetime) -> Event:
    """`workorder.returned` of an assisting work order: the case stays with its lead (no re-routing)."""
    return events.returned(returned, case, actor, at, reason, lead)


@dataclass
class Coordinator:
    """Opens assisting work orders, one unit of work per call, committed here like the Dispatcher's."""

    transactions: Transactions[DispatchRepository]
    rules: Rules
    orders: WorkOrderOpener
    clock: Callable[[], datetime]

    async def assist(
        self, lead_work_order_id: uuid.UUID, department: Department, note: str, actor: Actor
    ) -> WorkOrderView:
        """Ask `department` to assist the case of this lead work order. Raises NotFound, Forbidden (another
        department's lead), Conflict (the lead is closed), Invalid (not a lead, an incident's, the lead's own
        department, or one already assisting)."""
        async with self.transactions() as work:
            repo = work.repo
            lead = await repo.get_work_order(lead_work_order_id, lock=True)
            if lead is None:
                raise NotFound(f"no work order {lead_work_order_id}")
            if not actor.may_handle(lead.department):
                raise Forbidden(f"work order {lead_work_order_id} belongs to {lead.department}")
            if WorkOrderStatus(lead.status) not in OPEN:
                raise Conflict(f"work order {lead_work_order_id} is {lead.status}: a closed case takes no assistance")
            if lead.role != "lead":
                raise Invalid(f"work order {lead_work_order_id} assists {lead.lead_work_order_id}: ask on the lead")
            if lead.incident_id is not None:
                raise Invalid("an incident's work order takes no assisting work orders")
            if department.value == lead.department:
                raise Invalid(f"{department.value} leads this case: ask another department to assist")
            assisting = [o for o in await repo.open_work_orders_of_case(lead.complaint_id) if o.role == "assisting"]
            already = next((o for o in assisting if o.department == department.value), None)
            if already is not None:
                raise Invalid(f"{department.value} already assists this case (work order {already.work_order_id})")
            case = await repo.get_case(lead.complaint_id, lock=True)
            assert case is not None
            bind_case(complaint_id=str(case.complaint_id), correlation_id=case.correlation_id)
            now = self.clock()
            route = route_assisting(case, lead, department, by=actor.name, note=note, rules=self.rules)
            order = await self.orders.open(
                repo,
                case,
                route,
                cycle=lead.cycle,
                start=now,
                previous=None,
                actor=actor.name,
                actor_name=actor.label,
                at=now,
                lead=lead,
            )
            await repo.add_history(
                work_order_id=lead.work_order_id,
                action="assist",
                from_status=lead.status,
                to_status=lead.status,
                actor=actor.name,
                actor_name=actor.label,
                details={
                    "department": department.value,
                    "assisting_work_order_id": str(order.work_order_id),
                    "note": note,
                },
                at=now,
            )
            why = "reopened" if lead.cycle > 1 else "new"
            await repo.add_events([events.assigned(case, order, list(route.reasons), why, None, now)])
            view = WorkOrderView(order, await repo.history(order.work_order_id))
            work.commit()
        log.info("assisting work order opened", department=department.value, lead=str(lead.work_order_id))
        return view
