"""HTTP entrypoints of followup: thin routes for the agents' callback worklist and outcomes, and a case's
SLA clocks. They decode, call a handler or a view, and answer."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from services.followup.auth import Agent
from services.followup.deps import Handlers, Views
from services.followup.handlers import RecordOutcome
from services.followup.model import CallbackClosed, CallbackNotFound
from services.followup.schemas import CallbackRead, OutcomeCreate, SlaRead, Worklist
from shared.http.problems import Problem, problem_responses
from shared.http.service_app import mark_case

router = APIRouter(prefix="/v1", tags=["callbacks"])
WORKLIST_PROBLEMS = problem_responses()
OUTCOME_PROBLEMS = problem_responses(404, 409, body=True, s404="No such callback", s409="Outcome already recorded")
SLA_PROBLEMS = problem_responses(404, s404="No SLA clocks for this complaint")


@router.get(
    "/callbacks",
    response_model=Worklist,
    responses=WORKLIST_PROBLEMS,
    summary="Callbacks to make now (due and overdue), oldest deadline first",
)
async def worklist(
    _: Agent,
    views: Views,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Worklist:
    return await views.worklist(page=page, page_size=page_size)


@router.post(
    "/callbacks/{callback_id}/outcome",
    response_model=CallbackRead,
    responses=OUTCOME_PROBLEMS,
    summary="Record the call: satisfied, dissatisfied or unreachable",
)
async def record_outcome(
    callback_id: uuid.UUID, body: OutcomeCreate, request: Request, who: Agent, handlers: Handlers, views: Views
) -> CallbackRead:
    try:
        callback = await handlers.record_outcome(RecordOutcome(callback_id, body.outcome, who.name, body.note))
    except CallbackNotFound as exc:
        raise Problem(404, "Not Found", str(exc)) from exc
    except CallbackClosed as exc:
        raise Problem(409, "Conflict", str(exc)) from exc
    mark_case(request, callback.complaint_id)
    return await views.callback(callback)


@router.get(
    "/complaints/{complaint_id}/sla",
    response_model=SlaRead,
    responses=SLA_PROBLEMS,
    tags=["sla"],
    summary="A case's SLA clocks and escalations",
)
async def sla(complaint_id: uuid.UUID, request: Request, _: Agent, views: Views) -> SlaRead:
    found = await views.sla(complaint_id)
    if found is None:
        raise Problem(404, "Not Found", f"no SLA clocks for complaint {complaint_id}")
    mark_case(request, complaint_id)
    return found
