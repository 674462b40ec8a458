"""HTTP entrypoints of the duty manager's calls (issue 24): the calls for the duty page, and the duty manager's own
steps — "on my way" and "arrived" (which stops the clock) — taken on their own sign-in: a person's token with the
role `duty_manager`, recorded as themself (no body naming anyone). A supervisor's key still acknowledges for a named
manager through the older `POST /v1/complaints/{id}/duty-manager/acknowledge` (`api.py`). Thin: refusals are
`shared.errors` / problems (no `try` here)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from services.followup.auth import Agent, Staff
from services.followup.deps import Door, Views
from services.followup.handlers import duty_manager
from services.followup.handlers.duty_manager import AcknowledgeDutyCall, DutyManagerOnTheWay
from services.followup.schemas import DutyCallList, DutyCallStatusRead
from services.followup.views import duty_call_read
from shared.errors import Forbidden
from shared.http.problems import problem_responses
from shared.http.service_app import mark_case

router = APIRouter(prefix="/v1/duty-calls", tags=["duty manager"])
#: Who may see the calls: the duty manager, supervisors (who stand in), leadership.
READERS = ("duty_manager", "supervisor", "leadership")
STEP_PROBLEMS = problem_responses(
    403,
    404,
    409,
    s403="Not a signed-in duty manager",
    s404="No such complaint",
    s409="No call waits on this complaint (none, already arrived, or already on the way)",
)


async def call_reader(who: Agent) -> Staff:
    if not who.roles & set(READERS) and not who.manages:
        raise Forbidden(f"the duty calls are for {', '.join(READERS)}")
    return who


async def duty_manager_themself(who: Agent) -> Staff:
    """The duty manager's own step: a signed-in person holding the role (a key names nobody who is going)."""
    if not who.person or "duty_manager" not in who.roles:
        raise Forbidden("only the duty manager, signed in themself, may say so")
    return who


Reader = Annotated[Staff, Depends(call_reader)]
DutyManager = Annotated[Staff, Depends(duty_manager_themself)]


@router.get(
    "",
    response_model=DutyCallList,
    responses=problem_responses(403, s403="Not the duty manager, a supervisor, leadership or a department's manager"),
    summary="The duty manager's calls, newest first",
)
async def duty_calls(
    _: Reader,
    views: Views,
    open: Annotated[bool, Query(description="Only the calls the duty manager has not arrived at")] = True,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DutyCallList:
    return await views.duty_calls(open_only=open, limit=limit)


@router.post(
    "/{complaint_id}/on-the-way",
    response_model=DutyCallStatusRead,
    responses=STEP_PROBLEMS,
    summary="The duty manager is on the way (the clock runs on until they arrive)",
)
async def on_the_way(
    complaint_id: uuid.UUID, request: Request, who: DutyManager, door: Door, views: Views
) -> DutyCallStatusRead:
    call = await door.run(duty_manager.on_the_way, DutyManagerOnTheWay(complaint_id, who.id, who.name))
    mark_case(request, complaint_id)
    return duty_call_read(call, views.clock())


@router.post(
    "/{complaint_id}/arrived",
    response_model=DutyCallStatusRead,
    responses=STEP_PROBLEMS,
    summary="The duty manager has arrived: their clock stops",
)
async def arrived(
    complaint_id: uuid.UUID, request: Request, who: DutyManager, door: Door, views: Views
) -> DutyCallStatusRead:
    call = await door.run(duty_manager.acknowledge, AcknowledgeDutyCall(complaint_id, who.id, manager_name=who.name))
    mark_case(request, complaint_id)
    return duty_call_read(call, views.clock())
