"""HTTP entrypoints of followup: thin routes for the agents' callback worklist and outcomes, and a case's
SLA clocks. They decode, run a use case through the door (or read a view), and answer; a refusal is a
`shared.errors` error, answered as a problem by `shared.http.problems` (no `try` here)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from services.followup.auth import Agent, Staff, Supervisor
from services.followup.deps import ContactReads, Door, Views
from services.followup.handlers import contact_reads, duty_manager, outcomes
from services.followup.handlers.duty_manager import AcknowledgeDutyCall
from services.followup.handlers.outcomes import RecordOutcome
from services.followup.schemas import (
    CallbackRead,
    DutyAcknowledgementCreate,
    DutyCallRead,
    OutcomeCreate,
    SlaRead,
    Worklist,
)
from shared.errors import Invalid, NotFound
from shared.http.problems import problem_responses
from shared.http.service_app import mark_case

router = APIRouter(prefix="/v1", tags=["callbacks"])
WORKLIST_PROBLEMS = problem_responses()
OUTCOME_PROBLEMS = problem_responses(404, 409, body=True, s404="No such callback", s409="Outcome already recorded")
SLA_PROBLEMS = problem_responses(404, s404="No SLA clocks for this complaint")
DUTY_PROBLEMS = problem_responses(
    403,
    404,
    409,
    body=True,
    s403="Not the duty manager or a supervisor",
    s404="Unknown complaint",
    s409="No call pending",
)


@router.get(
    "/callbacks",
    response_model=Worklist,
    responses=WORKLIST_PROBLEMS,
    summary="Callbacks to make now (due and overdue), oldest deadline first",
)
async def worklist(
    request: Request,
    who: Agent,
    views: Views,
    shown: ContactReads,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
    owner: Annotated[str | None, Query(min_length=1, max_length=64, description="Only this owner's")] = None,
) -> Worklist:
    found = await views.worklist(page=page, page_size=page_size, owner=owner)
    await _record_shown(shown, request, who, found.items)
    return found


def _endpoint(request: Request) -> str:
    """The request as the access log names it: method and route template, never the ids in the path."""
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', request.url.path)}"


async def _record_shown(shown: ContactReads, request: Request, who: Staff, callbacks: list[CallbackRead]) -> None:
    """Who was shown whose contact, recorded before the answer goes out (`handlers.contact_reads`)."""
    await shown.run(
        contact_reads.record, contact_reads.Shown(who.id, who.name, who.person, callbacks, _endpoint(request))
    )


@router.post(
    "/callbacks/{callback_id}/outcome",
    response_model=CallbackRead,
    responses=OUTCOME_PROBLEMS,
    summary="Record the call: satisfied, dissatisfied or unreachable, its method, and the survey's 1-5 scores",
)
async def record_outcome(
    callback_id: uuid.UUID,
    body: OutcomeCreate,
    request: Request,
    who: Agent,
    door: Door,
    views: Views,
    shown: ContactReads,
) -> CallbackRead:
    scores = (body.scores.given() or None) if body.scores is not None else None
    command = RecordOutcome(
        callback_id, body.outcome, who.id, body.note, scores=scores, agent_name=who.name, method=body.method
    )
    callback = await door.run(outcomes.record_outcome, command)
    mark_case(request, callback.complaint_id)
    answer = await views.callback(callback)
    await _record_shown(shown, request, who, [answer])
    return answer


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
        raise NotFound(f"no SLA clocks for complaint {complaint_id}")
    mark_case(request, complaint_id)
    return found


@router.post(
    "/complaints/{complaint_id}/duty-manager/acknowledge",
    response_model=DutyCallRead,
    responses=DUTY_PROBLEMS,
    tags=["sla"],
    summary="The duty manager has come: their acknowledgement clock stops",
)
async def acknowledge_duty_call(
    complaint_id: uuid.UUID, body: DutyAcknowledgementCreate, request: Request, who: Supervisor, door: Door
) -> DutyCallRead:
    """A signed-in duty manager (or supervisor) is recorded as themselves; a supervisor's key names the manager."""
    call = await door.run(duty_manager.acknowledge, _acknowledgement(complaint_id, body, who))
    mark_case(request, complaint_id)
    assert call.acknowledged_at is not None
    return DutyCallRead(
        complaint_id=call.complaint_id,
        reference_no=call.reference_no,
        reason=call.reason,
        called_at=call.called_at,
        acknowledge_by=call.acknowledge_by,
        acknowledged_at=call.acknowledged_at,
        acknowledged_by=call.acknowledged_by,
        acknowledged_by_name=call.acknowledged_by_name,
        late=call.acknowledged_at > call.acknowledge_by,
    )


def _acknowledgement(complaint_id: uuid.UUID, body: DutyAcknowledgementCreate, who: Staff) -> AcknowledgeDutyCall:
    """Who acknowledged: the signed-in person (the body may only repeat their own id), or the manager a key names."""
    if who.person:
        if body.manager is not None and body.manager != who.id:
            raise _field_problem("manager", f"must be the signed-in person's staff id ({who.id!r}) or left out")
        return AcknowledgeDutyCall(complaint_id, who.id, body.note, manager_name=who.name)
    if body.manager is None:
        raise _field_problem("manager", "required: the staff id of the duty manager who came")
    return AcknowledgeDutyCall(complaint_id, body.manager, body.note)


def _field_problem(field: str, message: str) -> Invalid:
    return Invalid(f"{field}: {message}", errors=[{"field": field, "message": message}])
