"""`/supervisor/escalations`: every escalation (督办) that reached the signed-in person — a supervisor, a department
manager, the duty manager, leadership — and its answer step: the case's department acknowledges it and answers
what it is doing and by when; whom it reached sends the answer back with an instruction and a deadline.

Followup decides what "mine" is (`GET /v1/escalations` as the person) and who may take which step; the console
only shows each person the forms that fit where they stand (the case's department answers, the others review) and
posts them. The list is a live region (kind `escalation`): it is re-read from its own fragment route, as the person,
whenever an escalation changes, so it passes the same check as the page. The forms sit on each escalation's own
page, outside the live region, so an update never wipes what someone is typing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.console.auth import Acting, screen
from services.console.backends import PersonCalls, ServiceRefused
from services.console.pages import PageContext, error_response, redirect
from services.console.screens.common import Calls, FormInvalid, Page, attempt, local_time, text, without_none

router = APIRouter(include_in_schema=False)
LIST_PATH = "/supervisor/escalations"
Status = Annotated[Literal["open", "acknowledged", "answered", "sent_back"] | None, Query()]
Body = Callable[[Any, PageContext], dict[str, Any]]


async def _escalations(calls: PersonCalls, status: str | None) -> list[dict[str, Any]]:
    answer = await calls.get("followup", "/v1/escalations", status=status, limit=200)
    items = answer.get("items", []) if isinstance(answer, dict) else []
    return [i for i in items if isinstance(i, dict)]


@router.get(LIST_PATH, dependencies=[screen("escalations")])
async def escalations(page: Page, calls: Calls, status: Status = None) -> Response:
    items = await _escalations(calls, status)
    return page.render("escalations.html", items=items, answer_status=status, statuses=STATUSES)


@router.get(f"{LIST_PATH}/list", dependencies=[screen("escalations")])
async def escalations_list(page: Page, calls: Calls, status: Status = None) -> Response:
    """The live region's inner HTML alone (re-fetched when an escalation changes)."""
    items = await _escalations(calls, status)
    return page.render("_escalations.html", items=items, answer_status=status)


@router.get(LIST_PATH + "/{escalation_id}", dependencies=[screen("escalations")])
async def escalation(escalation_id: uuid.UUID, page: Page, calls: Calls) -> Response:
    return await _show(page, calls, escalation_id)


async def _show(
    page: PageContext,
    calls: PersonCalls,
    escalation_id: uuid.UUID,
    *,
    refused: ServiceRefused | None = None,
    invalid: FormInvalid | None = None,
    status: int = 200,
) -> Response:
    found = await calls.get("followup", f"/v1/escalations/{escalation_id}")
    return page.render(
        "escalation.html", e=found, steps=steps_for(page, found), refused=refused, invalid=invalid, status=status
    )


def steps_for(page: PageContext, escalation: dict[str, Any]) -> frozenset[str]:
    """Which forms to show: the case's department (a person of that department) acknowledges and answers; anyone
    else it reached reviews an answer and may send it back — but not whoever answered. Followup checks each step
    again; this only spares a person forms that would be refused."""
    person = page.session.person if page.session else None
    if person is None:
        return frozenset()
    state = escalation.get("status")
    if person.department is not None and person.department == escalation.get("department"):
        shown = {"answer"} if state != "answered" else set()
        if state in ("open", "sent_back"):
            shown.add("acknowledge")
        return frozenset(shown)
    if state == "answered" and escalation.get("answered_by") != person.staff_id:
        return frozenset({"send_back"})
    return frozenset()


def _acknowledge(form: Any, page: PageContext) -> dict[str, Any]:
    return without_none({"note": text(form, "note")})


def _answer(form: Any, page: PageContext) -> dict[str, Any]:
    return {"action": _required(form, "action"), "by": local_time(form, "by", page.timezone)}


def _send_back(form: Any, page: PageContext) -> dict[str, Any]:
    return {"instruction": _required(form, "instruction"), "deadline": local_time(form, "deadline", page.timezone)}


def _required(form: Any, name: str) -> str:
    value = text(form, name)
    if value is None:
        raise FormInvalid(name, "form.required")
    return value


#: Each step: the body from the form, and what the list then says was done.
STEPS: dict[str, tuple[Body, str]] = {
    "acknowledge": (_acknowledge, "escalation_acknowledged"),
    "answer": (_answer, "escalation_answered"),
    "send-back": (_send_back, "escalation_sent_back"),
}
STATUSES = ("open", "acknowledged", "answered", "sent_back")


@router.post(LIST_PATH + "/{escalation_id}/{step}", dependencies=[screen("escalations")])
async def take_step(
    escalation_id: uuid.UUID, step: str, request: Request, _: Acting, page: Page, calls: Calls
) -> Response:
    """One step, as the person, through followup; refused (409, 422), the escalation's page again with why."""
    if step not in STEPS:
        return error_response(page, 404, "error.not_found", step)
    body, done = STEPS[step]
    form = await request.form()
    outcome = await attempt(_post(calls, escalation_id, step, body, form, page))
    if outcome.invalid is not None:
        return await _show(page, calls, escalation_id, invalid=outcome.invalid, status=422)
    if outcome.refused is not None:
        return await _show(page, calls, escalation_id, refused=outcome.refused, status=outcome.refused.status)
    return redirect(LIST_PATH, done=done)


async def _post(
    calls: PersonCalls, escalation_id: uuid.UUID, step: str, body: Body, form: Any, page: PageContext
) -> None:
    await calls.post("followup", f"/v1/escalations/{escalation_id}/{step}", body(form, page))
