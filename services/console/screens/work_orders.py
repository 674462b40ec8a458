"""`/work-orders/{id}`: one work order and everything a department or a crew does with it — acknowledge, assign a
crew, agree an appointment, return, ask another department to assist, note, arrive, record findings and photos,
"customer not at home", resolve (with the root cause, the customer's acceptance, and for a serious case the cause
analysis and corrective actions).

Each form is one call of dispatch's API as the person; dispatch decides whether the step is allowed now and for
this person. A refusal is shown on the page in the person's language with dispatch's own detail.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from services.console.auth import Acting, screen
from services.console.backends import PersonCalls, ServiceRefused
from services.console.model import DEPARTMENTS, safe_next
from services.console.pages import PageContext, error_response, redirect
from services.console.screens.common import (
    Calls,
    FormInvalid,
    Page,
    attempt,
    flag,
    local_time,
    number,
    text,
    without_none,
)
from services.console.views import work_order_page

router = APIRouter(include_in_schema=False)
#: Corrective-action rows the resolve form offers (dispatch takes up to 20).
CORRECTIVE_ROWS = 3
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
Body = Callable[[Any, PageContext], dict[str, Any]]


@router.get("/work-orders/{work_order_id}", dependencies=[screen("work_order")])
async def work_order(work_order_id: uuid.UUID, page: Page, calls: Calls) -> Response:
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
    shown = await work_order_page(calls, str(work_order_id))
    return page.render(
        "work_order.html",
        status=status,
        refused=refused,
        invalid=invalid,
        departments=DEPARTMENTS,
        corrective_rows=range(1, CORRECTIVE_ROWS + 1),
        back=safe_next(page.request.query_params.get("back"), f"/work-orders/{work_order_id}"),
        **shown,
    )


async def _act(
    request: Request,
    page: PageContext,
    calls: PersonCalls,
    work_order_id: uuid.UUID,
    action: str,
    body: Body,
    done: str,
) -> Response:
    form = await request.form()
    back = safe_next(text(form, "back"), f"/work-orders/{work_order_id}")
    outcome = await attempt(_post(calls, work_order_id, action, body, form, page))
    if outcome.invalid is not None:
        return await _show(page, calls, work_order_id, invalid=outcome.invalid, status=422)
    if outcome.refused is not None:
        return await _show(page, calls, work_order_id, refused=outcome.refused, status=outcome.refused.status)
    return redirect(back, done=done)


async def _post(
    calls: PersonCalls, work_order_id: uuid.UUID, action: str, body: Body, form: Any, page: PageContext
) -> None:
    if action == "arrive" and flag(form, "sign_for"):
        # A crew at the door of a job its department has not signed for yet: signing for it is a step the
        # crew may take on its own jobs (dispatch checks), recorded under their name just before the arrival.
        await calls.post("dispatch", f"/v1/work-orders/{work_order_id}/acknowledge", {})
    path = API_PATHS.get(action, action)
    await calls.post("dispatch", f"/v1/work-orders/{work_order_id}/{path}", body(form, page))


def _acknowledge(form: Any, page: PageContext) -> dict[str, Any]:
    return {}


def _crew(form: Any, page: PageContext) -> dict[str, Any]:
    return without_none({"crew": text(form, "crew"), "note": text(form, "note")})


def _appointment(form: Any, page: PageContext) -> dict[str, Any]:
    return without_none(
        {
            "window_start": local_time(form, "window_start", page.timezone),
            "window_end": local_time(form, "window_end", page.timezone),
            "note": text(form, "note"),
        }
    )


def _return(form: Any, page: PageContext) -> dict[str, Any]:
    return without_none({"reason": text(form, "reason"), "suggested_department": text(form, "suggested_department")})


def _assist(form: Any, page: PageContext) -> dict[str, Any]:
    return without_none({"department": text(form, "department"), "note": text(form, "note")})


def _note(form: Any, page: PageContext) -> dict[str, Any]:
    return {"note": text(form, "note")}


def _arrive(form: Any, page: PageContext) -> dict[str, Any]:
    return {}


def _findings(form: Any, page: PageContext) -> dict[str, Any]:
    return without_none(
        {"indoor_temperature_c": number(form, "indoor_temperature_c", required=False), "note": text(form, "note")}
    )


def _not_at_home(form: Any, page: PageContext) -> dict[str, Any]:
    return without_none(
        {
            "next_visit_start": local_time(form, "next_visit_start", page.timezone),
            "next_visit_end": local_time(form, "next_visit_end", page.timezone),
            "note": text(form, "note"),
        }
    )


def _corrective_actions(form: Any, page: PageContext) -> list[dict[str, Any]]:
    """The corrective-action rows typed (a row without a description is left out)."""
    actions = []
    for row in range(1, CORRECTIVE_ROWS + 1):
        description = text(form, f"action_{row}_description")
        if description is None:
            continue
        actions.append(
            without_none(
                {
                    "description": description,
                    "owner": text(form, f"action_{row}_owner"),
                    "deadline": local_time(form, f"action_{row}_deadline", page.timezone),
                }
            )
        )
    return actions


def _propose(form: Any, page: PageContext) -> dict[str, Any]:
    """A serious case's cause analysis and corrective actions, proposed for leadership's approval (issue 24)."""
    return without_none(
        {"cause_analysis": text(form, "cause_analysis"), "corrective_actions": _corrective_actions(form, page)}
    )


def _resolve(form: Any, page: PageContext) -> dict[str, Any]:
    """The resolution; the customer's acceptance when the crew asked for it; for a serious case whose analysis needs
    no approval, the analysis and the corrective actions typed (dispatch says which are required)."""
    actions = _corrective_actions(form, page)
    acceptance = None
    if text(form, "acceptance_name") or flag(form, "acceptance_confirmed"):
        acceptance = without_none(
            {
                "customer_name": text(form, "acceptance_name"),
                "confirmed": flag(form, "acceptance_confirmed"),
                "note": text(form, "acceptance_note"),
            }
        )
    return without_none(
        {
            "resolution": text(form, "resolution"),
            "root_cause": text(form, "root_cause"),
            "root_cause_note": text(form, "root_cause_note"),
            "cause_analysis": text(form, "cause_analysis"),
            "corrective_actions": actions or None,
            "acceptance": acceptance,
        }
    )


_ACTIONS: dict[str, tuple[Body, str]] = {
    "acknowledge": (_acknowledge, "acknowledged"),
    "crew": (_crew, "crew_assigned"),
    "appointment": (_appointment, "appointment_agreed"),
    "return": (_return, "returned"),
    "assist": (_assist, "assist_requested"),
    "notes": (_note, "note_added"),
    "arrive": (_arrive, "arrived"),
    "findings": (_findings, "findings_recorded"),
    "not-at-home": (_not_at_home, "not_at_home"),
    "resolve": (_resolve, "resolved"),
    "propose": (_propose, "serious_proposed"),
}
#: Actions whose dispatch path is not the console's own (`/work-orders/{id}/<action>`).
API_PATHS = {"propose": "serious/propose"}


@router.post("/work-orders/{work_order_id}/photos", dependencies=[screen("work_order")])
async def add_photo(work_order_id: uuid.UUID, request: Request, _: Acting, page: Page, calls: Calls) -> Response:
    """A photo from the crew's phone, passed to dispatch as it came (dispatch checks type and size)."""
    form = await request.form()
    upload = form.get("file")
    back = safe_next(text(form, "back"), f"/work-orders/{work_order_id}")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await _show(page, calls, work_order_id, invalid=FormInvalid("file", "form.required"), status=422)
    content = await upload.read()
    content_type = upload.content_type or "application/octet-stream"
    path = f"/v1/work-orders/{work_order_id}/photos"
    outcome = await attempt(calls.upload("dispatch", path, "file", upload.filename, content, content_type))
    if outcome.refused is not None:
        return await _show(page, calls, work_order_id, refused=outcome.refused, status=outcome.refused.status)
    return redirect(back, done="photo_added")


@router.get("/work-orders/{work_order_id}/photos/{photo_id}", dependencies=[screen("work_order")])
async def photo(work_order_id: uuid.UUID, photo_id: uuid.UUID, calls: Calls) -> Response:
    """A work order's photo, fetched from dispatch as the person (the page's `img-src 'self'` allows only this)."""
    answer = await calls.fetch("dispatch", f"/v1/work-orders/{work_order_id}/photos/{photo_id}")
    content_type = answer.headers.get("content-type", "").split(";")[0].strip()
    if content_type not in IMAGE_TYPES:
        return Response(status_code=415)
    return Response(answer.content, media_type=content_type, headers={"Cache-Control": "private, max-age=300"})


@router.post("/work-orders/{work_order_id}/{action}", dependencies=[screen("work_order")])
async def act(work_order_id: uuid.UUID, action: str, request: Request, _: Acting, page: Page, calls: Calls) -> Response:
    if action not in _ACTIONS:
        return error_response(page, 404, "error.not_found", action)
    body, done = _ACTIONS[action]
    return await _act(request, page, calls, work_order_id, action, body, done)
