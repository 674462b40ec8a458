"""The supervisor's desk: `/supervisor` (the landing page, each screen with its open count), the corrective actions
of serious cases (`/supervisor/corrective-actions`: open, overdue, completed; complete one with its outcome) and
the contact-access log (`/supervisor/contact-access`: who read whose contact details).

Every figure is a service's answer read as the supervisor: escalations from followup, incidents, outage notices,
corrective actions and the access log from dispatch. A service that does not answer shows "—" for its count on
the landing page rather than failing the page (`views.part`).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.console.auth import Acting, screen
from services.console.backends import PersonCalls, ServiceRefused
from services.console.pages import PageContext, redirect
from services.console.screens.common import Calls, FormInvalid, Page, attempt, text
from services.console.views import Part, part

router = APIRouter(include_in_schema=False)
ACTIONS = "/supervisor/corrective-actions"
Filter = Annotated[str | None, Query(max_length=128)]


def _items(answer: Any) -> list[dict[str, Any]]:
    items = answer.get("items", []) if isinstance(answer, dict) else []
    return [i for i in items if isinstance(i, dict)]


def _count(found: Part, keep: Any = None) -> int | None:
    if not found.ok:
        return None
    items = _items(found.data)
    return len([i for i in items if keep(i)] if keep else items)


@router.get("/supervisor", dependencies=[screen("supervisor_home")])
async def desk(page: Page, calls: Calls) -> Response:
    escalations, incidents, outages, actions = await asyncio.gather(
        part(calls.get("followup", "/v1/escalations", limit=500)),
        part(calls.get("dispatch", "/v1/incidents", status="open")),
        part(calls.get("dispatch", "/v1/outage-notices")),
        part(calls.get("dispatch", "/v1/corrective-actions", status="open")),
    )
    counts = {
        "escalations": _count(escalations, lambda e: e.get("status") != "answered"),
        "incidents": _count(incidents),
        "outages": _count(outages, lambda o: o.get("status") != "ended"),
        "corrective_actions": _count(actions),
        "overdue_actions": _count(actions, lambda a: a.get("overdue")),
    }
    return page.render("supervisor.html", counts=counts)


# -- corrective actions -------------------------------------------------------------------------------------------


async def corrective_actions(calls: PersonCalls) -> dict[str, Any]:
    """Open (overdue first: dispatch lists the nearest deadline first) and completed, the latest done first."""
    open_, done = await asyncio.gather(
        calls.get("dispatch", "/v1/corrective-actions", status="open"),
        calls.get("dispatch", "/v1/corrective-actions", status="done", limit=100),
    )
    opened = _items(open_)
    completed = sorted(_items(done), key=lambda a: str(a.get("completed_at") or ""), reverse=True)
    return {
        "overdue": [a for a in opened if a.get("overdue")],
        "open": [a for a in opened if not a.get("overdue")],
        "completed": completed,
    }


@router.get(ACTIONS, dependencies=[screen("corrective_actions")])
async def actions(page: Page, calls: Calls) -> Response:
    return await _actions(page, calls)


async def _actions(
    page: PageContext,
    calls: PersonCalls,
    *,
    refused: ServiceRefused | None = None,
    invalid: FormInvalid | None = None,
    status: int = 200,
) -> Response:
    found = await corrective_actions(calls)
    return page.render("corrective_actions.html", refused=refused, invalid=invalid, status=status, **found)


@router.get(f"{ACTIONS}/list", dependencies=[screen("corrective_actions")])
async def actions_list(page: Page, calls: Calls) -> Response:
    """The live region's inner HTML alone (kind `corrective_action`)."""
    return page.render("_corrective_actions.html", **await corrective_actions(calls))


@router.post(ACTIONS + "/{action_id}/complete", dependencies=[screen("corrective_actions")])
async def complete(action_id: uuid.UUID, request: Request, _: Acting, page: Page, calls: Calls) -> Response:
    form = await request.form()
    outcome_text = text(form, "outcome")
    if outcome_text is None:
        return await _actions(page, calls, invalid=FormInvalid("outcome", "form.required"), status=422)
    body = {"outcome": outcome_text}
    outcome = await attempt(calls.post("dispatch", f"/v1/corrective-actions/{action_id}/complete", body))
    if outcome.refused is not None:
        return await _actions(page, calls, refused=outcome.refused, status=outcome.refused.status)
    return redirect(ACTIONS, done="action_completed")


# -- the contact-access log ---------------------------------------------------------------------------------------


@router.get("/supervisor/contact-access", dependencies=[screen("contact_access")])
async def contact_access(page: Page, calls: Calls, case: Filter = None, staff: Filter = None) -> Response:
    """Who read whose contact details, newest first; by case (reference or id) or by person."""
    found = await calls.get("dispatch", "/v1/contact-access", complaint_id=case, staff_id=staff, limit=200)
    return page.render("contact_access.html", items=_items(found), case=case or "", staff=staff or "")
