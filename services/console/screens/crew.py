"""`/crew/jobs`: a crew member's jobs on a phone — whom to call (a tel: link), where to go, the appointment, and
"arrived" at a touch; findings, photos, "not at home" and the resolution with the customer's acceptance are on
each job's page (`/work-orders/{id}?back=/crew/jobs`). dispatch shows a crew only its own work orders."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import Response

from services.console.auth import screen
from services.console.screens.common import Calls, Page

router = APIRouter(include_in_schema=False)


@router.get("/crew/jobs", dependencies=[screen("crew_jobs")])
async def jobs(page: Page, calls: Calls) -> Response:
    assert page.session is not None
    crew = page.session.person.crew
    if not crew:
        return page.render("crew_jobs.html", crew=None, items=[])
    answer = await calls.get("dispatch", f"/v1/crews/{quote(crew, safe='')}/jobs")
    items = answer.get("items") if isinstance(answer, dict) else answer
    return page.render("crew_jobs.html", crew=crew, items=items or [])
