"""HTTP entrypoints of the coordination of multi-department cases by the customer-service centre (seed 002;
`handlers/steering.py` has the rules).

A customer-service supervisor (`auth.Coordinator`) opens a case for coordination and steers it: change the lead, add
an assisting part, set a part's deadline, give an instruction. Supervisor-level readers (supervisors, the duty
manager, leadership) read the coordinated cases; anyone else gets 403. Thin: decode, run the use case through the
door, answer.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from services.dispatch.auth import Coordinator, CurrentActor
from services.dispatch.coordination_schemas import (
    CoordinationCreate,
    CoordinationList,
    CoordinationRead,
    DeadlineSet,
    InstructionCreate,
    LeadChange,
    PartCreate,
    PartRead,
    SteeringStep,
)
from services.dispatch.deps import DoorDep
from services.dispatch.handlers import steering
from services.dispatch.model import complaint_key
from services.dispatch.workorders.lifecycle import OPEN
from shared.contracts import Department
from shared.errors import Forbidden
from shared.http.problems import problem_responses
from shared.http.service_app import mark_case

router = APIRouter(prefix="/v1/coordination", tags=["coordination"])
OPEN_STATUSES = frozenset(s.value for s in OPEN)
_STEER = {
    403: "Only a customer-service supervisor steers coordinated cases",
    404: "No such case, or the centre does not coordinate it",
    409: "No open part to steer",
}


def _s() -> dict[str, str]:
    """The steps' refusals, worded for them."""
    return {f"s{status}": meaning for status, meaning in _STEER.items()}


def _may_read(reads_everything: bool) -> None:
    if not reads_everything:
        raise Forbidden("only supervisors, the duty manager and leadership read coordinated cases")


async def _steered(
    request: Request, door: DoorDep, use_case: Any, command: Any, complaint_id: uuid.UUID
) -> CoordinationRead:
    mark_case(request, complaint_id)
    found = await door.run(use_case, command)
    return _read(found, door.clock())


def _read(found: steering.Coordination, now: datetime) -> CoordinationRead:
    c, case = found.coordinated, found.case
    lead = next((p for p in found.parts if p.role == "lead" and p.status in OPEN_STATUSES), None)
    return CoordinationRead(
        complaint_id=case.complaint_id,
        reference_no=case.reference_no,
        text=case.text,
        category=case.category,
        severity=case.severity,
        opened_by=c.opened_by,
        opened_by_name=c.opened_by_name,
        opened_at=c.opened_at,
        note=c.note,
        lead_department=Department(lead.department) if lead else None,
        parts=[
            PartRead(
                work_order_id=p.work_order_id,
                department=Department(p.department),
                role=p.role,
                status=p.status,
                category=p.category,
                severity=p.severity,
                acknowledge_by=p.acknowledge_by,
                resolve_by=p.resolve_by,
                overdue=p.status in OPEN_STATUSES and p.resolve_by < now,
            )
            for p in found.parts
        ],
        steps=[SteeringStep(**{k: step[k] for k in SteeringStep.model_fields}) for step in found.steps],
    )


@router.post(
    "",
    response_model=CoordinationRead,
    status_code=201,
    responses=problem_responses(
        403,
        404,
        409,
        body=True,
        s403=_STEER[403],
        s404="No such case",
        s409="Already coordinated, or no open work order (in triage, settled, closed, an incident's)",
        s422="The lead among the assisting departments",
    ),
    summary="Open a multi-department case for coordination by the customer-service centre: a lead and assisting parts",
)
async def open_case(body: CoordinationCreate, request: Request, actor: Coordinator, door: DoorDep) -> CoordinationRead:
    command = steering.Open(complaint_key(body.complaint), body.lead, tuple(body.assisting), body.note, actor)
    found = await door.run(steering.open_case, command)
    mark_case(request, found.case.complaint_id)
    return _read(found, door.clock())


@router.get(
    "",
    response_model=CoordinationList,
    responses=problem_responses(403, s403="Only supervisors, the duty manager and leadership"),
    summary="The cases the customer-service centre coordinates, newest first, with each part's state",
)
async def list_cases(
    actor: CurrentActor, door: DoorDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> CoordinationList:
    _may_read(actor.reads_everything)
    found = await door.run(steering.find, steering.Find(limit))
    now = door.clock()
    return CoordinationList(items=[_read(c, now) for c in found])


@router.get(
    "/{case}",
    response_model=CoordinationRead,
    responses=problem_responses(403, 404, s403="Only supervisors, the duty manager and leadership", s404=_STEER[404]),
    summary="One coordinated case (by complaint id or reference number): its parts and the steps that steered it",
)
async def show_case(case: str, request: Request, actor: CurrentActor, door: DoorDep) -> CoordinationRead:
    _may_read(actor.reads_everything)
    found = await door.run(steering.show, steering.Show(complaint_key(case)))
    mark_case(request, found.case.complaint_id)
    return _read(found, door.clock())


@router.post(
    "/{complaint_id}/lead",
    response_model=CoordinationRead,
    responses=problem_responses(403, 404, 409, body=True, **_s(), s422="That department leads already"),
    summary="Change the lead: that department's part leads (opened when it has none), the others assist it",
)
async def change_lead(
    complaint_id: uuid.UUID, body: LeadChange, request: Request, actor: Coordinator, door: DoorDep
) -> CoordinationRead:
    command = steering.ChangeLead(complaint_id, body.department, body.note, actor)
    return await _steered(request, door, steering.change_lead, command, complaint_id)


@router.post(
    "/{complaint_id}/parts",
    response_model=CoordinationRead,
    status_code=201,
    responses=problem_responses(403, 404, 409, body=True, **_s(), s422="The department leads or assists already"),
    summary="Add an assisting part: a work order of that department in the case, with its own deadlines",
)
async def add_part(
    complaint_id: uuid.UUID, body: PartCreate, request: Request, actor: Coordinator, door: DoorDep
) -> CoordinationRead:
    command = steering.AddPart(complaint_id, body.department, body.note, actor)
    return await _steered(request, door, steering.add_part, command, complaint_id)


@router.post(
    "/{complaint_id}/parts/{work_order_id}/deadline",
    response_model=CoordinationRead,
    responses=problem_responses(403, 404, 409, body=True, **_s(), s422="The deadline is not later than now"),
    summary="Set a part's deadline to resolve",
)
async def set_deadline(
    complaint_id: uuid.UUID,
    work_order_id: uuid.UUID,
    body: DeadlineSet,
    request: Request,
    actor: Coordinator,
    door: DoorDep,
) -> CoordinationRead:
    command = steering.SetDeadline(complaint_id, work_order_id, body.resolve_by, body.note, actor)
    return await _steered(request, door, steering.set_deadline, command, complaint_id)


@router.post(
    "/{complaint_id}/instructions",
    response_model=CoordinationRead,
    responses=problem_responses(403, 404, 409, body=True, **_s()),
    summary="Give a part (or every open part) an instruction",
)
async def instruct(
    complaint_id: uuid.UUID, body: InstructionCreate, request: Request, actor: Coordinator, door: DoorDep
) -> CoordinationRead:
    command = steering.Instruct(complaint_id, body.work_order_id, body.instruction, actor)
    return await _steered(request, door, steering.instruct, command, complaint_id)
