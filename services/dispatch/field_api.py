"""HTTP entrypoints of field work: the crews, a crew's jobs, and the steps a dispatcher or a crew takes on a work order
beyond signing for and resolving it — sending a crew, agreeing a visit window, arriving, findings, photos, a customer
not at home.

Thin like api.py: decode, run a use case through the door (`work_orders.act`, `field_work.add_photo`) or read
through `DispatchViews`, answer. What each step checks is field_work.py; who may take it `Actor.may_act_on` (model.py).
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import Response

from services.dispatch.answers import ACTION_PROBLEMS, take_step, with_customers
from services.dispatch.auth import CurrentActor, WorkOrderStaff
from services.dispatch.deps import CrewList as Crews
from services.dispatch.deps import DoorDep, Views
from services.dispatch.errors import NotFound
from services.dispatch.handlers import field_work
from services.dispatch.model import Step
from services.dispatch.schemas import (
    AppointmentCreate,
    ArrivalCreate,
    CrewAssign,
    CrewJobsPage,
    CrewList,
    CrewRead,
    FindingsCreate,
    NotAtHomeCreate,
    PhotoAdded,
    WorkOrderRead,
)
from services.dispatch.workorders.lifecycle import Action
from shared.contracts import Department
from shared.http.problems import problem_responses
from shared.http.service_app import mark_case

router = APIRouter(prefix="/v1", tags=["field work"])
#: The path the photo upload takes multipart/form-data on (bootstrap tells the request gate).
PHOTO_UPLOAD_PATHS = r"/v1/work-orders/[^/]+/photos"
PHOTO_PROBLEMS = problem_responses(
    403,
    404,
    409,
    413,
    415,
    body=True,
    s403="Not the department's or the crew's work order",
    s404="No such work order",
    s409="Photos are taken on site: the work order is not in progress",
    s413="The photo is larger than DISPATCH_PHOTO_MAX_BYTES",
    s415="Not a JPEG, PNG or WebP image (judged by its bytes)",
)


@router.get(
    "/crews",
    response_model=CrewList,
    responses=problem_responses(),
    summary="The crews, of one department or all, with their zh and en names",
)
async def crews(_: CurrentActor, known: Crews, department: Department | None = None) -> CrewList:
    listed = known.of(department.value if department else None)
    return CrewList(items=[CrewRead.model_validate(asdict(c)) for c in listed])


@router.get(
    "/crews/{crew}/jobs",
    response_model=CrewJobsPage,
    responses=problem_responses(403, 404, s403="Another crew's jobs", s404="No such crew"),
    summary="A crew's open work orders, most urgent first, each with its text, address and customer",
)
async def crew_jobs(
    crew: str,
    request: Request,
    actor: WorkOrderStaff,
    known: Crews,
    views: Views,
    door: DoorDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CrewJobsPage:
    """Its members, its department's staff and supervisors read it; a person's read of the customers is logged."""
    found = known.get(crew)
    if found is None:
        raise NotFound(f"no crew {crew!r}")
    jobs, total = await views.crew_jobs(found, actor, limit=page_size, offset=(page - 1) * page_size)
    items = await with_customers(request, actor, door, jobs)
    return CrewJobsPage(crew=crew, items=items, page=page, page_size=page_size, total=total)


@router.post(
    "/work-orders/{work_order_id}/crew",
    response_model=WorkOrderRead,
    responses=ACTION_PROBLEMS,
    summary="Send a crew (or hand the work order over to another): workorder.crew_assigned",
)
async def assign_crew(
    work_order_id: uuid.UUID, body: CrewAssign, request: Request, actor: WorkOrderStaff, door: DoorDep
) -> WorkOrderRead:
    step = Step(Action.ASSIGN_CREW, crew=body.crew, note=body.note)
    return await take_step(request, door, work_order_id, step, actor)


@router.post(
    "/work-orders/{work_order_id}/appointment",
    response_model=WorkOrderRead,
    responses=ACTION_PROBLEMS,
    summary="The visit window agreed with the customer: workorder.appointment_agreed",
)
async def agree_appointment(
    work_order_id: uuid.UUID,
    body: AppointmentCreate,
    request: Request,
    actor: WorkOrderStaff,
    door: DoorDep,
) -> WorkOrderRead:
    step = Step(Action.AGREE_APPOINTMENT, window_start=body.window_start, window_end=body.window_end, note=body.note)
    return await take_step(request, door, work_order_id, step, actor)


@router.post(
    "/work-orders/{work_order_id}/arrive",
    response_model=WorkOrderRead,
    responses=ACTION_PROBLEMS,
    summary="On site: in progress, workorder.started (the on-site clock stops) naming who arrived and their crew",
)
async def arrive(
    work_order_id: uuid.UUID,
    request: Request,
    actor: WorkOrderStaff,
    door: DoorDep,
    _: ArrivalCreate | None = None,
) -> WorkOrderRead:
    return await take_step(request, door, work_order_id, Step(Action.START), actor)


@router.post(
    "/work-orders/{work_order_id}/findings",
    response_model=WorkOrderRead,
    responses=ACTION_PROBLEMS,
    summary="What the crew found on site (a measured indoor temperature, a note): workorder.findings_recorded",
)
async def record_findings(
    work_order_id: uuid.UUID, body: FindingsCreate, request: Request, actor: WorkOrderStaff, door: DoorDep
) -> WorkOrderRead:
    step = Step(Action.RECORD_FINDINGS, indoor_temperature_c=body.indoor_temperature_c, note=body.note)
    return await take_step(request, door, work_order_id, step, actor)


@router.post(
    "/work-orders/{work_order_id}/not-at-home",
    response_model=WorkOrderRead,
    responses=ACTION_PROBLEMS,
    summary="The customer was not at home: the next visit is agreed (workorder.visit_missed)",
)
async def not_at_home(
    work_order_id: uuid.UUID,
    body: NotAtHomeCreate,
    request: Request,
    actor: WorkOrderStaff,
    door: DoorDep,
) -> WorkOrderRead:
    step = Step(Action.NOT_AT_HOME, window_start=body.next_visit_start, window_end=body.next_visit_end, note=body.note)
    return await take_step(request, door, work_order_id, step, actor)


@router.post(
    "/work-orders/{work_order_id}/photos",
    response_model=PhotoAdded,
    status_code=201,
    responses=PHOTO_PROBLEMS,
    summary="Attach a photo taken on site (multipart field `file`: JPEG, PNG or WebP): workorder.photo_added",
)
async def add_photo(
    work_order_id: uuid.UUID,
    request: Request,
    actor: WorkOrderStaff,
    door: DoorDep,
    file: Annotated[UploadFile, File(description="The image; its type is read from its bytes")],
) -> PhotoAdded:
    data = await file.read(door.context.photo_max_bytes + 1)
    await file.close()
    view, photo = await field_work.add_photo(door, field_work.AddPhoto(work_order_id, data, actor))
    mark_case(request, view.order.complaint_id)
    return PhotoAdded.model_validate(asdict(photo))


@router.get(
    "/work-orders/{work_order_id}/photos/{photo_id}",
    responses={
        200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}, "description": "The image"},
        **problem_responses(403, 404, s403="Not the department's or the crew's work order", s404="No such photo"),
    },
    response_class=Response,
    summary="A photo's image, with its real content type",
)
async def get_photo(
    work_order_id: uuid.UUID, photo_id: uuid.UUID, request: Request, actor: WorkOrderStaff, views: Views
) -> Response:
    photo, data = await views.photo(work_order_id, photo_id, actor)
    return Response(
        content=data,
        media_type=photo.content_type,
        headers={
            # The type is the one the bytes were checked to have: no browser may sniff it into something else.
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, max-age=3600",
        },
    )
