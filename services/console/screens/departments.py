"""`/departments/{department}/queue`: the department's open work orders by priority and deadline, overdue marked,
each with the complaint's text, address and customer contact — dispatch's queue, read as the person (a person of
another department gets dispatch's 403).

The queue is a live region (kind `work_order`: a work order routed, assigned, coordinated, acknowledged, resolved,
returned...), re-read from `/departments/{department}/queue/list` as the person, so a new work order shows without a
reload and passes the same check as the page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from services.console.auth import screen
from services.console.backends import PersonCalls
from services.console.model import DEPARTMENTS
from services.console.pages import error_response
from services.console.screens.common import Calls, Page

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
PageNumber = Annotated[int, Query(ge=1, le=100_000)]


@router.get("/departments/{department}/queue", dependencies=[screen("department_queue")])
async def queue(department: str, page: Page, calls: Calls, p: PageNumber = 1) -> Response:
    if department not in DEPARTMENTS:
        return error_response(page, 404, "error.not_found", department)
    return page.render("queue.html", **await _queue(calls, department, p))


@router.get("/departments/{department}/queue/list", dependencies=[screen("department_queue")])
async def queue_list(department: str, page: Page, calls: Calls, p: PageNumber = 1) -> Response:
    """The live region's inner HTML alone (re-read on every change of kind `work_order`)."""
    if department not in DEPARTMENTS:
        return error_response(page, 404, "error.not_found", department)
    return page.render("_queue.html", **await _queue(calls, department, p))


async def _queue(calls: PersonCalls, department: str, p: int) -> dict[str, Any]:
    answer = await calls.get("dispatch", f"/v1/queues/{department}", page=p, page_size=PAGE_SIZE)
    total = int(answer.get("total") or 0)
    return {
        "department": department,
        "items": answer.get("items") or [],
        "total": total,
        "page_number": p,
        "has_next": p * PAGE_SIZE < total,
    }
