"""How dispatch's answers read over HTTP where its route modules share them: a refused request as a problem naming
its field, a corrective action, a work order with its case, crew, appointment and findings."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from fastapi import Request

from services.dispatch.crews import Crews
from services.dispatch.model import CorrectiveAction, CustomerDetails, Invalid, WorkOrderView
from services.dispatch.resolution import ResolutionRefused
from services.dispatch.schemas import CorrectiveActionRead, CustomerRead, HistoryEntry, WorkOrderRead
from services.dispatch.workorders.lifecycle import OPEN
from shared.contracts import WorkOrderStatus
from shared.http.problems import Problem


def invalid_problem(exc: Invalid) -> Problem:
    """422 naming the field; a refused root cause lists the department's valid codes."""
    if isinstance(exc, ResolutionRefused):
        extra = {"valid_root_causes": exc.valid_codes} if exc.valid_codes is not None else {}
        errors = [{"field": exc.field, "message": str(exc)}]
        return Problem(422, "Invalid request", str(exc), errors=errors, **extra)
    return Problem(422, "Invalid request", str(exc))


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
    (`customer`, from the contact desk: a step's answer leaves both out, the read of the work order has them); its
    crew, appointment, findings, photos, acceptance and history."""
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
            # The address is contact data too: it comes with the customer, through the contact desk (logged).
            "location": case.location if case and customer else None,
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
