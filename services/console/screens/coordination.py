"""`/supervisor/coordination`: the multi-department cases the customer-service centre coordinates (seed 002), each
part's state; `/supervisor/coordination/{reference}`: one case — open it for coordination, and steer it (change the
lead, add an assisting part, set a part's deadline, give an instruction).

Dispatch decides who may steer (`/v1/coordination`, a customer-service supervisor) and whether a step is allowed
now; the console posts the forms as the person and shows a refusal on the page with dispatch's own detail. The list
and a case's parts are live regions (kind `work_order`), each re-read from its own fragment route as the person; the
forms sit outside them, so an update never wipes what is being typed.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.console.auth import Acting, screen
from services.console.backends import PersonCalls, ServiceRefused
from services.console.model import DEPARTMENTS
from services.console.pages import PageContext, error_response, redirect
from services.console.screens.common import Calls, FormInvalid, Page, attempt, local_time, text, without_none

router = APIRouter(include_in_schema=False)
LIST_PATH = "/supervisor/coordination"
_SCREEN = [screen("coordination")]
#: Who steers (dispatch's rule too: seed 002 gives coordination to the customer-service centre): the forms are shown
#: to a supervisor of that department only; other supervisors read.
STEERING_DEPARTMENT = "customer_service"


def _steers(page: PageContext) -> bool:
    person = page.session.person if page.session else None
    return bool(person and person.has("supervisor") and person.department == STEERING_DEPARTMENT)


async def _cases(calls: PersonCalls) -> list[dict[str, Any]]:
    answer = await calls.get("dispatch", "/v1/coordination", limit=200)
    items = answer.get("items", []) if isinstance(answer, dict) else []
    return [i for i in items if isinstance(i, dict)]


@router.get(LIST_PATH, dependencies=_SCREEN)
async def coordinated_cases(page: Page, calls: Calls) -> Response:
    return await _list(page, calls)


async def _list(
    page: PageContext,
    calls: PersonCalls,
    *,
    refused: ServiceRefused | None = None,
    invalid: FormInvalid | None = None,
    status: int = 200,
) -> Response:
    return page.render(
        "coordination.html",
        items=await _cases(calls),
        departments=DEPARTMENTS,
        steers=_steers(page),
        refused=refused,
        invalid=invalid,
        status=status,
    )


@router.get(f"{LIST_PATH}/list", dependencies=_SCREEN)
async def coordinated_cases_list(page: Page, calls: Calls) -> Response:
    """The list's live region alone (re-fetched when a work order changes)."""
    return page.render("_coordination_list.html", items=await _cases(calls))


@router.post(LIST_PATH, dependencies=_SCREEN)
async def open_case(request: Request, _: Acting, page: Page, calls: Calls) -> Response:
    """Open a case for coordination; refused (404, 409, 422), the list again with dispatch's reason."""
    form = await request.form()
    outcome = await attempt(calls.post("dispatch", "/v1/coordination", _opening(form)))
    if outcome.invalid is not None:
        return await _list(page, calls, invalid=outcome.invalid, status=422)
    if outcome.refused is not None:
        return await _list(page, calls, refused=outcome.refused, status=outcome.refused.status)
    opened = outcome.answer if isinstance(outcome.answer, dict) else {}
    return redirect(f"{LIST_PATH}/{opened.get('reference_no', '')}", done="coordination_opened")


def _opening(form: Any) -> dict[str, Any]:
    complaint, note = text(form, "complaint"), text(form, "note")
    if complaint is None:
        raise FormInvalid("complaint", "form.required")
    if note is None:
        raise FormInvalid("note", "form.required")
    assisting = [d for d in form.getlist("assisting") if d in DEPARTMENTS]
    return without_none({"complaint": complaint, "lead": text(form, "lead"), "assisting": assisting, "note": note})


@router.get(LIST_PATH + "/{reference}", dependencies=_SCREEN)
async def coordinated_case(reference: str, page: Page, calls: Calls) -> Response:
    return await _show(page, calls, reference)


@router.get(LIST_PATH + "/{reference}/parts", dependencies=_SCREEN)
async def coordinated_case_parts(reference: str, page: Page, calls: Calls) -> Response:
    """A case's parts and steps alone: its live region."""
    found = await calls.get("dispatch", f"/v1/coordination/{reference}")
    return page.render("_coordination_parts.html", c=found)


async def _show(
    page: PageContext,
    calls: PersonCalls,
    reference: str,
    *,
    refused: ServiceRefused | None = None,
    invalid: FormInvalid | None = None,
    status: int = 200,
) -> Response:
    found = await calls.get("dispatch", f"/v1/coordination/{reference}")
    return page.render(
        "coordination_case.html",
        c=found,
        departments=DEPARTMENTS,
        steers=_steers(page),
        refused=refused,
        invalid=invalid,
        status=status,
    )


def _lead(form: Any, page: PageContext) -> tuple[str, dict[str, Any]]:
    return "lead", {"department": text(form, "department"), "note": _required(form, "note")}


def _part(form: Any, page: PageContext) -> tuple[str, dict[str, Any]]:
    return "parts", {"department": text(form, "department"), "note": _required(form, "note")}


def _deadline(form: Any, page: PageContext) -> tuple[str, dict[str, Any]]:
    part = _required(form, "work_order_id")
    body = {"resolve_by": local_time(form, "resolve_by", page.timezone), "note": text(form, "note") or ""}
    return f"parts/{part}/deadline", body


def _instruction(form: Any, page: PageContext) -> tuple[str, dict[str, Any]]:
    body = without_none({"work_order_id": text(form, "work_order_id"), "instruction": _required(form, "instruction")})
    return "instructions", body


def _required(form: Any, name: str) -> str:
    value = text(form, name)
    if value is None:
        raise FormInvalid(name, "form.required")
    return value


STEPS = {
    "lead": (_lead, "coordination_lead_changed"),
    "parts": (_part, "coordination_part_added"),
    "deadline": (_deadline, "coordination_deadline_set"),
    "instructions": (_instruction, "coordination_instructed"),
}


@router.post(LIST_PATH + "/{reference}/{step}", dependencies=_SCREEN)
async def steer(reference: str, step: str, request: Request, _: Acting, page: Page, calls: Calls) -> Response:
    """One steering step, as the person, through dispatch; refused (404, 409, 422), the case's page with why."""
    if step not in STEPS:
        return error_response(page, 404, "error.not_found", step)
    body, done = STEPS[step]
    form = await request.form()
    outcome = await attempt(_post(calls, reference, body, form, page))
    if outcome.invalid is not None:
        return await _show(page, calls, reference, invalid=outcome.invalid, status=422)
    if outcome.refused is not None:
        return await _show(page, calls, reference, refused=outcome.refused, status=outcome.refused.status)
    return redirect(f"{LIST_PATH}/{reference}", done=done)


async def _post(calls: PersonCalls, reference: str, body: Any, form: Any, page: PageContext) -> None:
    found = await calls.get("dispatch", f"/v1/coordination/{reference}")
    path, payload = body(form, page)
    await calls.post("dispatch", f"/v1/coordination/{found['complaint_id']}/{path}", payload)
