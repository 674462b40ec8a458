"""HTTP entrypoints of the staff's own lists: who read whose contact details (supervisors), the crews and each crew's
jobs.

Thin like api.py: decode, call `DispatchViews` or the `Dispatcher`'s desks, turn their errors into problems, answer.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from services.dispatch.auth import AccessAuditor
from services.dispatch.deps import DispatcherDep
from services.dispatch.schemas import ContactAccessList, ContactReadEntry
from shared.http.problems import Problem, problem_responses

router = APIRouter(prefix="/v1")


@router.get(
    "/contact-access",
    response_model=ContactAccessList,
    responses=problem_responses(403, s403="Only supervisors (and duty managers, leadership) read the log"),
    tags=["supervisors"],
    summary="Who read whose contact details: staff, case, what, through which request, when (newest first)",
)
async def contact_access(
    _: AccessAuditor,
    dispatcher: DispatcherDep,
    complaint_id: Annotated[str | None, Query(max_length=64, description="A complaint id or reference number")] = None,
    staff_id: Annotated[str | None, Query(max_length=128)] = None,
    since: Annotated[datetime | None, Query(alias="from", description="At or after (ISO 8601 with offset)")] = None,
    until: Annotated[datetime | None, Query(alias="to", description="Before (ISO 8601 with offset)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ContactAccessList:
    for name, value in (("from", since), ("to", until)):
        if value is not None and value.tzinfo is None:
            raise Problem(
                422,
                "Invalid request",
                f"{name}: give a time zone offset",
                errors=[{"field": name, "message": "needs a time zone offset, e.g. 2026-11-23T08:00:00+08:00"}],
            )
    reads = await dispatcher.contacts.reads(
        complaint=complaint_id, staff_id=staff_id, since=since, until=until, limit=limit
    )
    return ContactAccessList(items=[ContactReadEntry.model_validate(asdict(r)) for r in reads])
