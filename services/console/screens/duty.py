"""`/duty`: the duty manager's live calls — a counter complaint not settled on the spot, or an agitated customer —
each with its case (text, place, channel, agitated or not), how long since the call and the time left of the limit
to go (`[duty_manager] acknowledge`, 3 minutes in the shipped policy), and the duty manager's own buttons "on my
way" and "arrived" (arrived stops the clock). Supervisors may look; only the duty manager, signed in, acts
(followup refuses anyone else).

The calls are followup's (`GET /v1/duty-calls?open=true` as the person), each case reporting's; the list is a live
region (kind `duty`), re-read from `/duty/calls` whenever a call is made or a step taken.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from services.console.auth import Acting, screen
from services.console.backends import PersonCalls
from services.console.duty_clock import clock_of
from services.console.pages import PageContext, redirect
from services.console.screens.common import Calls, Page
from services.console.views import part

router = APIRouter(include_in_schema=False)
PATH = "/duty"


async def _case(calls: PersonCalls, reference: str) -> dict[str, Any] | None:
    """The case as reporting has it; None while reporting has not seen it yet, refuses it or is away (the call is
    shown without its details: the duty manager goes anyway)."""
    found = await part(calls.optional("reporting", f"/v1/cases/{reference}"))
    return found.data if isinstance(found.data, dict) else None


async def open_calls(calls: PersonCalls) -> list[dict[str, Any]]:
    """The calls the duty manager has not arrived at, oldest first (the longest waiting on top), each with its case
    and its clock as numbers the page shows."""
    answer = await calls.get("followup", "/v1/duty-calls", open="true", limit=50)
    items = [i for i in (answer.get("items", []) if isinstance(answer, dict) else []) if isinstance(i, dict)]
    items.sort(key=lambda i: str(i.get("called_at") or ""))
    cases = await asyncio.gather(*(_case(calls, str(i.get("reference_no"))) for i in items))
    now = datetime.now(UTC)
    return [{**item, "case": case, **clock_of(item, now)} for item, case in zip(items, cases, strict=True)]


def _acts(page: PageContext) -> bool:
    person = page.session.person if page.session else None
    return person is not None and person.has("duty_manager")


@router.get(PATH, dependencies=[screen("duty")])
async def duty(page: Page, calls: Calls) -> Response:
    return page.render("duty.html", calls=await open_calls(calls), acts=_acts(page))


@router.get(f"{PATH}/calls", dependencies=[screen("duty")])
async def duty_calls(page: Page, calls: Calls) -> Response:
    """The live region's inner HTML alone (re-read on every change of kind `duty`)."""
    return page.render("_duty_calls.html", calls=await open_calls(calls), acts=_acts(page))


@router.post(PATH + "/{complaint_id}/on-the-way", dependencies=[screen("duty")])
async def on_the_way(complaint_id: uuid.UUID, _: Acting, calls: Calls) -> Response:
    await calls.post("followup", f"/v1/duty-calls/{complaint_id}/on-the-way")
    return redirect(PATH, done="duty_on_the_way")


@router.post(PATH + "/{complaint_id}/arrived", dependencies=[screen("duty")])
async def arrived(complaint_id: uuid.UUID, _: Acting, calls: Calls) -> Response:
    await calls.post("followup", f"/v1/duty-calls/{complaint_id}/arrived")
    return redirect(PATH, done="duty_arrived")
