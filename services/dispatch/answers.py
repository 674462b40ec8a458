"""How dispatch's answers read over HTTP where its route modules share them: the problems a step may answer, a
corrective action, a work order with its case, crew, appointment and findings; a step taken for a route; work orders
listed with their customers (through `handlers.contacts.reveal`, which logs a person's read).

Refusals are not mapped here: a use case raises `shared.errors`' classes, answered once by `shared.http.problems`."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Any

from fastapi import Request

from services.dispatch.crews import Crews
from services.dispatch.handlers.contacts import Reveal, reveal
from services.dispatch.handlers.context import DispatchDoor
from services.dispatch.handlers.work_orders import Act, act
from services.dispatch.model import Actor, Case, CorrectiveAction, CustomerDetails, Step, WorkOrderView
from services.dispatch.schemas import CorrectiveActionRead, CustomerRead, HistoryEntry, WorkOrderRead
from services.dispatch.workorders.lifecycle import OPEN
from shared.contracts import WorkOrderStatus
from shared.http.problems import problem_responses
from shared.http.service_app import mark_case

ACTION_PROBLEMS = problem_responses(
    403,
    404,
    409,
    body=True,
    s403="Another department's work order",
    s404="No such work order",
    s409="Not allowed in the work order's current status",
    s422="Invalid fields; on resolve also a root cause outside the department's catalogue (its codes listed), or a "
    "serious or emergency case's lead work order without a cause analysis and a corrective action",
)


def action_read(action: CorrectiveAction, now: datetime) -> CorrectiveActionRead:
    return CorrectiveActionRead.model_validate({**asdict(action), "overdue": action.overdue(now)})


def endpoint(request: Request) -> str:
    """The request as the contact-access log names it: method and route template, never the ids in the path."""
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', request.url.path)}"


def _history(entry: dict[str, Any]) -> HistoryEntry:
    details = entry.get("details") or {}
    return HistoryEntry.model_validate(
        {
            **entry,
            "actor_name": entry.get("actor_name") or entry["actor"],
            "note": details.get("note"),
            "reason": details.get("reason"),
        }
    )


def work_order_read(
    view: WorkOrderView, now: datetime, *, crews: Crews | None = None, customer: CustomerDetails | None = None
) -> WorkOrderRead:
    """A work order as staff read it: its case's text; the address and the customer as this caller may see them
    (`customer`, from `handlers.contacts.reveal`: a step's answer leaves both out, the read of the work order has
    them); its crew, appointment, findings, photos, acceptance and history."""
    order, case = view.order, view.case
    crew = crews.get(order.crew) if crews is not None and order.crew else None
    appointment = (
        {"window_start": order.appointment_start, "window_end": order.appointment_end, "note": order.appointment_note}
        if order.appointment_start and order.appointment_end
        else None
    )
    read = WorkOrderRead.model_validate(
        {
            **asdict(order),
            "reference_no": case.reference_no if case else None,
            "overdue": WorkOrderStatus(order.status) in OPEN and order.resolve_by < now,
            "text": case.text if case else None,
            # A customer's address is contact data too: it comes with the customer, through `reveal` (logged).
            # An incident's place is the fault's, not a household's.
            "location": case.location if case and (customer or order.incident_id is not None) else None,
            "customer": CustomerRead.model_validate(asdict(customer)) if customer else None,
            "crew_name_zh": crew.name_zh if crew else None,
            "crew_name_en": crew.name_en if crew else None,
            "appointment": appointment,
            "findings": [asdict(f) for f in view.findings],
            "photos": [asdict(p) for p in view.photos],
            "history": [_history(h) for h in view.history],
        }
    )
    read.corrective_actions = [action_read(a, now) for a in view.corrective_actions]
    return read


def step_answer(request: Request, view: WorkOrderView, now: datetime, crews: Crews) -> WorkOrderRead:
    mark_case(request, view.order.complaint_id)
    return work_order_read(view, now, crews=crews)


async def take_step(
    request: Request, door: DispatchDoor, work_order_id: uuid.UUID, step: Step, actor: Actor
) -> WorkOrderRead:
    """Take a step on a work order for a route (its refusals: 404, 403, 409, 422, answered by the door's errors)."""
    view = await door.run(act, Act(work_order_id, step, actor))
    return step_answer(request, view, door.clock(), door.context.crews)


def customers_of(views: list[WorkOrderView]) -> list[Case]:
    """The cases whose customer a read shows: every complaint's (an incident's work order has no customer)."""
    seen: dict[uuid.UUID, Case] = {}
    for view in views:
        if view.case is not None and view.order.incident_id is None:
            seen.setdefault(view.case.complaint_id, view.case)
    return list(seen.values())


async def customers_shown(
    request: Request, actor: Actor, door: DispatchDoor, cases: list[Case]
) -> dict[uuid.UUID, CustomerDetails]:
    """The customers of these cases as `actor` may see them (a person's read logged, one row per case)."""
    return await door.run(reveal, Reveal(actor, cases, endpoint(request)))


async def with_customers(
    request: Request, actor: Actor, door: DispatchDoor, page_views: list[WorkOrderView]
) -> list[WorkOrderRead]:
    """Queue items and crew jobs: each work order with its customer as the caller may see them."""
    customers = await customers_shown(request, actor, door, customers_of(page_views))
    now = door.clock()
    return [
        work_order_read(
            v,
            now,
            crews=door.context.crews,
            customer=customers.get(v.order.complaint_id) if v.order.incident_id is None else None,
        )
        for v in page_views
    ]
