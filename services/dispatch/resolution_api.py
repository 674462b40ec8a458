"""HTTP entrypoints of resolving a case beyond a work order's own steps (those are in api.py): the root-cause
catalogue, the corrective actions of serious cases, and assisting work orders of coordinated cases.

Thin like api.py: decode, run a use case through the door (`handlers/corrective_actions.py`,
`handlers/coordination.py`), answer. Anyone with a credential reads the catalogue; supervisors set and complete
corrective actions, every department reads its own; the lead's department or a supervisor asks for assistance.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from services.dispatch.answers import action_read, work_order_read
from services.dispatch.auth import CurrentActor, DepartmentReader, Supervisor, WorkOrderStaff
from services.dispatch.deps import DoorDep
from services.dispatch.handlers import coordination, corrective_actions
from services.dispatch.model import CorrectiveActionPlan
from services.dispatch.schemas import (
    AssistCreate,
    CorrectiveActionCreate,
    CorrectiveActionDone,
    CorrectiveActionList,
    CorrectiveActionRead,
    RootCauseList,
    RootCauseRead,
    WorkOrderRead,
)
from shared.http.problems import problem_responses
from shared.http.service_app import mark_case

router = APIRouter(prefix="/v1")


@router.get(
    "/root-causes",
    response_model=RootCauseList,
    responses=problem_responses(),
    tags=["work orders"],
    summary="The root-cause catalogue a resolution picks from, per department, with zh and en labels",
)
async def root_causes(_: CurrentActor, door: DoorDep) -> RootCauseList:
    entries = door.context.root_causes.entries
    return RootCauseList(
        items=[
            RootCauseRead(code=e.code, department=e.department, label_zh=e.label_zh, label_en=e.label_en)
            for e in entries
        ]
    )


# --- corrective actions ---------------------------------------------------------------------------------------


@router.post(
    "/complaints/{complaint_id}/corrective-actions",
    response_model=CorrectiveActionRead,
    status_code=201,
    responses=problem_responses(
        403, 404, body=True, s403="Only supervisors set corrective actions", s404="No such case"
    ),
    tags=["supervisors"],
    summary="Set a corrective action on a case (or an incident, by its id): what, who, by when",
)
async def set_corrective_action(
    complaint_id: uuid.UUID,
    body: CorrectiveActionCreate,
    request: Request,
    actor: Supervisor,
    door: DoorDep,
) -> CorrectiveActionRead:
    plan = CorrectiveActionPlan(body.description, body.owner, body.deadline)
    action = await door.run(corrective_actions.set_action, corrective_actions.SetAction(complaint_id, plan, actor))
    mark_case(request, complaint_id)
    return action_read(action, door.clock())


@router.post(
    "/corrective-actions/{action_id}/complete",
    response_model=CorrectiveActionRead,
    responses=problem_responses(
        403, 404, 409, body=True, s403="Only supervisors", s404="No such corrective action", s409="Already done"
    ),
    tags=["supervisors"],
    summary="Record a corrective action done, with its outcome: its clock stops",
)
async def complete_corrective_action(
    action_id: uuid.UUID, body: CorrectiveActionDone, request: Request, actor: Supervisor, door: DoorDep
) -> CorrectiveActionRead:
    action = await door.run(corrective_actions.complete, corrective_actions.Complete(action_id, body.outcome, actor))
    mark_case(request, action.complaint_id)
    return action_read(action, door.clock())


@router.get(
    "/corrective-actions",
    response_model=CorrectiveActionList,
    responses=problem_responses(403, s403="Only supervisors and departments"),
    tags=["supervisors"],
    summary="Corrective actions, nearest deadline first; a department sees its own",
)
async def list_corrective_actions(
    actor: DepartmentReader,
    door: DoorDep,
    status: Literal["open", "done"] | None = None,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> CorrectiveActionList:
    department = None if actor.reads_everything else actor.department
    query = corrective_actions.Find(status, overdue, department.value if department else None, limit)
    found = await door.run(corrective_actions.find, query)
    now = door.clock()
    return CorrectiveActionList(items=[action_read(a, now) for a in found])


# --- coordinated cases ------------------------------------------------------------------------------------------


@router.post(
    "/work-orders/{work_order_id}/assist",
    response_model=WorkOrderRead,
    status_code=201,
    responses=problem_responses(
        403,
        404,
        409,
        body=True,
        s403="Another department's lead work order",
        s404="No such work order",
        s409="The lead work order is closed",
        s422="Not a lead work order, an incident's, the lead's own department, or a department already assisting",
    ),
    tags=["work orders"],
    summary="Ask another department to assist this case: an assisting work order for it, with its own deadlines",
)
async def assist(
    work_order_id: uuid.UUID, body: AssistCreate, request: Request, actor: WorkOrderStaff, door: DoorDep
) -> WorkOrderRead:
    command = coordination.Assist(work_order_id, body.department, body.note, actor)
    view = await door.run(coordination.assist, command)
    mark_case(request, view.order.complaint_id)
    return work_order_read(view, door.clock(), crews=door.context.crews)
