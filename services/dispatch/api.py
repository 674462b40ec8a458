"""HTTP entrypoints of dispatch: department actions on work orders, queues, supervisor reclassification.

Thin: decode, run a use case through the door (`handlers/`) or read through `DispatchViews` (views.py), answer; a
refusal propagates as a `shared.errors` error, answered once by `shared.http.problems`. Who may do what is decided
there (`Actor.may_act_on`, `may_read`, `may_read_queue`) and in auth.py, never here; field work (crews,
appointments, on site) is field_api.py."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, Request

from services.dispatch.answers import (
    ACTION_PROBLEMS,
    customers_of,
    customers_shown,
    step_answer,
    take_step,
    with_customers,
    work_order_read,
)
from services.dispatch.auth import Supervisor, WorkOrderStaff
from services.dispatch.deps import DoorDep, Views
from services.dispatch.handlers import route, triage
from services.dispatch.model import CorrectiveActionPlan, Step
from services.dispatch.schemas import (
    NoteCreate,
    QueuePage,
    ReclassifyCreate,
    ResolutionCreate,
    ReturnCreate,
    TriageDecision,
    TriageItem,
    TriagePage,
    WorkOrderRead,
)
from services.dispatch.workorders.lifecycle import Action
from shared.contracts import Department
from shared.http.problems import problem_responses
from shared.http.service_app import mark_case

router = APIRouter(prefix="/v1", tags=["work orders"])
READ_PROBLEMS = problem_responses(
    403,
    404,
    s403="A person's: not their department's or crew's work order",
    s404="No such work order for this credential",
)
QUEUE_PROBLEMS = problem_responses(403, s403="Another department's queue")
RECLASSIFY_PROBLEMS = problem_responses(
    403,
    404,
    409,
    body=True,
    s403="Only supervisors reclassify",
    s404="No such complaint",
    s409="The case has no open work order",
)


@router.get("/work-orders/{work_order_id}", response_model=WorkOrderRead, responses=READ_PROBLEMS)
async def get_work_order(
    work_order_id: uuid.UUID, request: Request, actor: WorkOrderStaff, views: Views, door: DoorDep
) -> WorkOrderRead:
    """The work order with its case's text, address and customer (a person's read is logged), crew, appointment,
    findings, photos, acceptance, history and the case's corrective actions."""
    view = await views.work_order(work_order_id, actor)
    mark_case(request, view.order.complaint_id)
    customers = await customers_shown(request, actor, door, customers_of([view]))
    customer = customers.get(view.order.complaint_id) if view.case else None
    return work_order_read(view, door.clock(), crews=door.context.crews, customer=customer)


@router.post(
    "/work-orders/{work_order_id}/acknowledge",
    response_model=WorkOrderRead,
    responses=ACTION_PROBLEMS,
    summary="Sign for the work order",
)
async def acknowledge(
    work_order_id: uuid.UUID, request: Request, actor: WorkOrderStaff, door: DoorDep
) -> WorkOrderRead:
    return await take_step(request, door, work_order_id, Step(Action.ACKNOWLEDGE), actor)


@router.post(
    "/work-orders/{work_order_id}/start",
    response_model=WorkOrderRead,
    responses=ACTION_PROBLEMS,
    summary="On site / work in progress",
)
async def start(work_order_id: uuid.UUID, request: Request, actor: WorkOrderStaff, door: DoorDep) -> WorkOrderRead:
    return await take_step(request, door, work_order_id, Step(Action.START), actor)


@router.post("/work-orders/{work_order_id}/notes", response_model=WorkOrderRead, responses=ACTION_PROBLEMS)
async def add_note(
    work_order_id: uuid.UUID, body: NoteCreate, request: Request, actor: WorkOrderStaff, door: DoorDep
) -> WorkOrderRead:
    return await take_step(request, door, work_order_id, Step(Action.NOTE, note=body.note), actor)


@router.post("/work-orders/{work_order_id}/resolve", response_model=WorkOrderRead, responses=ACTION_PROBLEMS)
async def resolve(
    work_order_id: uuid.UUID, body: ResolutionCreate, request: Request, actor: WorkOrderStaff, door: DoorDep
) -> WorkOrderRead:
    step = Step(
        Action.RESOLVE,
        resolution=body.resolution,
        root_cause=body.root_cause,
        root_cause_note=body.root_cause_note,
        cause_analysis=body.cause_analysis,
        corrective_actions=tuple(
            CorrectiveActionPlan(a.description, a.owner, a.deadline) for a in body.corrective_actions
        ),
        acceptance=body.acceptance.model_dump() if body.acceptance else None,
    )
    return await take_step(request, door, work_order_id, step, actor)


@router.post(
    "/work-orders/{work_order_id}/return",
    response_model=WorkOrderRead,
    responses=ACTION_PROBLEMS,
    summary="Not ours: return it with a reason; the case is re-routed",
)
async def return_work_order(
    work_order_id: uuid.UUID, body: ReturnCreate, request: Request, actor: WorkOrderStaff, door: DoorDep
) -> WorkOrderRead:
    step = Step(Action.RETURN, reason=body.reason, suggested_department=body.suggested_department)
    return await take_step(request, door, work_order_id, step, actor)


@router.get(
    "/queues/{department}",
    response_model=QueuePage,
    responses=QUEUE_PROBLEMS,
    summary="Open work orders of a department: priority first, then deadline",
)
async def department_queue(
    department: Department,
    request: Request,
    actor: WorkOrderStaff,
    views: Views,
    door: DoorDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> QueuePage:
    """Each item with its text, address and customer (a person's read of them is logged, one row per case), crew,
    appointment and whether it is overdue."""
    page_views, total = await views.queue(department, actor, limit=page_size, offset=(page - 1) * page_size)
    return QueuePage(
        department=department,
        items=await with_customers(request, actor, door, page_views),
        page=page,
        page_size=page_size,
        total=total,
    )


@router.post(
    "/complaints/{complaint_id}/reclassify",
    response_model=WorkOrderRead,
    responses=RECLASSIFY_PROBLEMS,
    tags=["supervisors"],
    summary="Correct category or severity: re-routes, keeps the history",
)
async def reclassify(
    complaint_id: uuid.UUID, body: ReclassifyCreate, request: Request, actor: Supervisor, door: DoorDep
) -> WorkOrderRead:
    command = route.Reclassify(complaint_id, body.category, body.severity, body.reason, actor)
    view = await door.run(route.reclassified, command)
    return step_answer(request, view, door.clock(), door.context.crews)


TRIAGE_PROBLEMS = problem_responses(
    403,
    404,
    409,
    body=True,
    s403="Only supervisors triage",
    s404="No such complaint",
    s409="The complaint is not waiting in triage",
)


@router.get(
    "/triage",
    response_model=TriagePage,
    responses=problem_responses(403, s403="Only supervisors triage"),
    tags=["supervisors"],
    summary="Doubtful complaints waiting for a supervisor, oldest first, with the model's suggestions",
)
async def triage_queue(
    _: Supervisor,
    views: Views,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> TriagePage:
    cases, total = await views.triage(limit=page_size, offset=(page - 1) * page_size)
    items = [TriageItem.model_validate({**asdict(c), "suggestions": c.suggestions or []}) for c in cases]
    return TriagePage(items=items, page=page, page_size=page_size, total=total)


@router.post(
    "/triage/{complaint_id:uuid}",  # a UUID, so `/triage/corrections` (GET) is not read as one (POST → 405)
    response_model=WorkOrderRead,
    responses=TRIAGE_PROBLEMS,
    tags=["supervisors"],
    summary="Decide a doubtful complaint's category: it is routed, its clocks running from acceptance",
)
async def triage_decide(
    complaint_id: uuid.UUID, body: TriageDecision, request: Request, actor: Supervisor, door: DoorDep
) -> WorkOrderRead:
    view = await door.run(triage.decide, triage.Decide(complaint_id, body.category, body.severity, body.note, actor))
    return step_answer(request, view, door.clock(), door.context.crews)
