"""HTTP entrypoints of the staff's own lists: who read whose contact details (supervisors), the crews and each crew's
jobs.

Thin like api.py: decode, run a use case through the door, answer.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query

from services.dispatch.auth import AccessAuditor
from services.dispatch.deps import DoorDep
from services.dispatch.handlers import contacts
from services.dispatch.schemas import ContactAccessList, ContactReadEntry
from shared.http.instants import INSTANT_PATTERN, instant
from shared.http.problems import problem_responses

router = APIRouter(prefix="/v1")
#: A date and time with its offset: a log is read across time zones, so a moment without one means nothing.


@router.get(
    "/contact-access",
    response_model=ContactAccessList,
    responses=problem_responses(403, s403="Only supervisors (and duty managers, leadership) read the log"),
    tags=["supervisors"],
    summary="Who read whose contact details: staff, case, what, through which request, when (newest first)",
)
async def contact_access(
    _: AccessAuditor,
    door: DoorDep,
    complaint_id: Annotated[str | None, Query(max_length=64, description="A complaint id or reference number")] = None,
    staff_id: Annotated[str | None, Query(max_length=128)] = None,
    since: Annotated[
        str | None,
        Query(
            alias="from",
            pattern=INSTANT_PATTERN,
            description="At or after: ISO 8601 with an offset, e.g. 2026-11-23T08:00+08:00",
        ),
    ] = None,
    until: Annotated[
        str | None, Query(alias="to", pattern=INSTANT_PATTERN, description="Before: ISO 8601 with an offset")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ContactAccessList:
    query = contacts.Reads(complaint_id, staff_id, instant("from", since), instant("to", until), limit)
    reads = await door.run(contacts.reads, query)
    return ContactAccessList(items=[ContactReadEntry.model_validate(asdict(r)) for r in reads])
