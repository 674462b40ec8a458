"""HTTP entrypoints of an escalation's answer step (issue 24): the escalations a person may act on, and the steps —
the case's department acknowledges and answers (what, by when), whom the escalation reached sends it back
(instruction, new deadline). Thin: who may is the rules' (`escalation_answers.py`), refused as `shared.errors`
(403, 404, 409, 422) and answered as problems by `shared.http.problems` (no `try` here)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from services.followup.auth import Agent, Staff
from services.followup.deps import Door, Views
from services.followup.escalation_answers import EscalationActor
from services.followup.handlers import escalation_answers as steps
from services.followup.schemas import (
    EscalationAcknowledgementCreate,
    EscalationAnswerCreate,
    EscalationCaseRead,
    EscalationList,
    EscalationSendBackCreate,
)
from services.followup.views import escalation_read
from shared.errors import NotFound
from shared.http.problems import problem_responses
from shared.http.service_app import mark_case

router = APIRouter(prefix="/v1/escalations", tags=["escalations"])
LIST_PROBLEMS = problem_responses()
READ_PROBLEMS = problem_responses(404, s404="No such escalation (or not yours to act on)")


def _step_problems(s403: str, s409: str) -> dict[int | str, dict[str, Any]]:
    return problem_responses(403, 404, 409, body=True, s403=s403, s404="No such escalation", s409=s409)


async def _take(step: Any, command: Any, request: Request, door: Door, views: Views) -> EscalationCaseRead:
    """Run one step through the door, name its case for the request's log line, answer the escalation as it now is."""
    done = await door.run(step, command)
    mark_case(request, done.record.complaint_id)
    return escalation_read(done, views.clock())


def actor(who: Staff) -> EscalationActor:
    return EscalationActor(who.id, who.name, who.roles, who.department, who.person)


@router.get(
    "",
    response_model=EscalationList,
    responses=LIST_PROBLEMS,
    summary="Escalations I may act on: my department's to answer, and those that reached my rung; newest first",
)
async def escalations(
    who: Agent,
    views: Views,
    status: Annotated[
        Literal["open", "acknowledged", "answered", "sent_back"] | None, Query(description="Only those standing so")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> EscalationList:
    return await views.escalations(actor(who), status=status, limit=limit)


@router.get(
    "/{escalation_id}",
    response_model=EscalationCaseRead,
    responses=READ_PROBLEMS,
    summary="One escalation and where its answer stands",
)
async def escalation(escalation_id: uuid.UUID, request: Request, who: Agent, views: Views) -> EscalationCaseRead:
    found = await views.escalation(escalation_id, actor(who))
    if found is None:
        raise NotFound(f"no escalation {escalation_id} for you to act on")
    mark_case(request, found.complaint_id)
    return found


@router.post(
    "/{escalation_id}/acknowledge",
    response_model=EscalationCaseRead,
    responses=_step_problems("Not the case's department", "Already acknowledged or answered, or climbed past"),
    summary="The case's department has seen the escalation (its rung still climbs unless answered in time)",
)
async def acknowledge(
    escalation_id: uuid.UUID,
    body: EscalationAcknowledgementCreate,
    request: Request,
    who: Agent,
    door: Door,
    views: Views,
) -> EscalationCaseRead:
    command = steps.AcknowledgeEscalation(escalation_id, actor(who), body.note)
    return await _take(steps.acknowledge, command, request, door, views)


@router.post(
    "/{escalation_id}/answer",
    response_model=EscalationCaseRead,
    responses=_step_problems("Not the case's department", "Already answered, or climbed past"),
    summary="The case's department answers: what it is doing and by when. The rung climbs no further",
)
async def answer(
    escalation_id: uuid.UUID, body: EscalationAnswerCreate, request: Request, who: Agent, door: Door, views: Views
) -> EscalationCaseRead:
    command = steps.AnswerEscalation(escalation_id, actor(who), body.action, body.by)
    return await _take(steps.answer, command, request, door, views)


@router.post(
    "/{escalation_id}/send-back",
    response_model=EscalationCaseRead,
    responses=_step_problems("Not whom the escalation reached", "A higher rung was climbed since"),
    summary="Whom the escalation reached sends it back: an instruction, and a deadline to answer again by",
)
async def send_back(
    escalation_id: uuid.UUID, body: EscalationSendBackCreate, request: Request, who: Agent, door: Door, views: Views
) -> EscalationCaseRead:
    command = steps.SendBackEscalation(escalation_id, actor(who), body.instruction, body.deadline)
    return await _take(steps.send_back, command, request, door, views)
