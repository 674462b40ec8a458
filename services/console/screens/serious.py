"""`/leadership/serious`: serious and emergency cases (seed 001) — the lead department's proposed cause analysis and
corrective actions, which leadership (or HR/administration) approves or sends back with a reason; the lead work
order resolves only once they are approved (dispatch holds that rule). Supervisors and duty managers may look.

Dispatch decides who may approve (`POST /v1/work-orders/{id}/serious/approve|send-back` as the person); the console
shows the forms to those whose roles approve, and posts them. The list is a live region (kind `serious`), re-read
from its own fragment route as the person whenever a proposal, a resolution or a corrective action changes; the
forms sit on each case's own page, outside the live region, so an update never wipes a reason being typed.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.console.auth import Acting, screen
from services.console.backends import PersonCalls, ServiceRefused
from services.console.pages import PageContext, error_response, redirect
from services.console.screens.common import Calls, FormInvalid, Page, attempt, text, without_none

router = APIRouter(include_in_schema=False)
LIST_PATH = "/leadership/serious"
#: Who decides (dispatch's rule too): the forms are shown to these roles only.
APPROVER_ROLES = ("leadership", "hr_admin")


async def _cases(calls: PersonCalls) -> list[dict[str, Any]]:
    answer = await calls.get("dispatch", "/v1/serious-cases", limit=200)
    items = answer.get("items", []) if isinstance(answer, dict) else []
    return [i for i in items if isinstance(i, dict)]


@router.get(LIST_PATH, dependencies=[screen("leadership_serious")])
async def serious_cases(page: Page, calls: Calls) -> Response:
    return page.render("serious.html", items=await _cases(calls))


@router.get(f"{LIST_PATH}/list", dependencies=[screen("leadership_serious")])
async def serious_cases_list(page: Page, calls: Calls) -> Response:
    """The live region's inner HTML alone (re-fetched when a serious case changes)."""
    return page.render("_serious.html", items=await _cases(calls))


@router.get(LIST_PATH + "/{work_order_id}", dependencies=[screen("leadership_serious")])
async def serious_case(work_order_id: uuid.UUID, page: Page, calls: Calls) -> Response:
    return await _show(page, calls, work_order_id)


async def _show(
    page: PageContext,
    calls: PersonCalls,
    work_order_id: uuid.UUID,
    *,
    refused: ServiceRefused | None = None,
    invalid: FormInvalid | None = None,
    status: int = 200,
) -> Response:
    found = await calls.get("dispatch", f"/v1/work-orders/{work_order_id}/serious")
    person = page.session.person if page.session else None
    decides = bool(person and person.has(*APPROVER_ROLES))
    waiting = isinstance(found, dict) and (found.get("proposal") or {}).get("status") == "proposed"
    return page.render(
        "serious_case.html",
        c=found,
        decides=decides and waiting,
        refused=refused,
        invalid=invalid,
        status=status,
    )


def _approve(form: Any) -> dict[str, Any]:
    return without_none({"note": text(form, "note")})


def _send_back(form: Any) -> dict[str, Any]:
    reason = text(form, "reason")
    if reason is None:
        raise FormInvalid("reason", "form.required")
    return {"reason": reason}


STEPS = {"approve": (_approve, "serious_approved"), "send-back": (_send_back, "serious_sent_back")}


@router.post(LIST_PATH + "/{work_order_id}/{step}", dependencies=[screen("leadership_serious")])
async def decide(
    work_order_id: uuid.UUID, step: str, request: Request, _: Acting, page: Page, calls: Calls
) -> Response:
    """Approve or send back, as the person, through dispatch; refused (409, 422), the case's page again with why."""
    if step not in STEPS:
        return error_response(page, 404, "error.not_found", step)
    body, done = STEPS[step]
    form = await request.form()
    outcome = await attempt(_post(calls, work_order_id, step, body, form))
    if outcome.invalid is not None:
        return await _show(page, calls, work_order_id, invalid=outcome.invalid, status=422)
    if outcome.refused is not None:
        return await _show(page, calls, work_order_id, refused=outcome.refused, status=outcome.refused.status)
    return redirect(LIST_PATH, done=done)


async def _post(calls: PersonCalls, work_order_id: uuid.UUID, step: str, body: Any, form: Any) -> None:
    await calls.post("dispatch", f"/v1/work-orders/{work_order_id}/serious/{step}", body(form))
