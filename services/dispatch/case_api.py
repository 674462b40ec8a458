"""HTTP entrypoints of one case: read it (status, owner, work orders), and a supervisor's word on its validity
(the rest of dispatch's are in api.py and incident_api.py).

Thin like api.py: decode, call the `Dispatcher` or `DispatchViews`, turn their errors into problems, answer.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict

from fastapi import APIRouter, Request

from services.dispatch.auth import Staff, Supervisor
from services.dispatch.deps import DispatcherDep, Views
from services.dispatch.model import CaseView, Conflict, NotFound
from services.dispatch.schemas import CaseRead, StaffWorkOrderRead, ValidityDecision
from shared.http.problems import Problem, problem_responses
from shared.http.service_app import mark_case

router = APIRouter(prefix="/v1/complaints", tags=["complaints"])

READ_PROBLEMS = problem_responses(403, 404, s403="Not a department or supervisor credential", s404="No such complaint")
VALIDITY_PROBLEMS = problem_responses(
    403,
    404,
    409,
    body=True,
    s403="Only supervisors decide validity",
    s404="No such complaint",
    s409="valid: the complaint is not closed as invalid; invalid: it is not waiting in triage",
)


def _read(view: CaseView) -> CaseRead:
    return CaseRead.model_validate(
        {
            **asdict(view.case),
            "status": view.status,
            "work_orders": [StaffWorkOrderRead.model_validate(asdict(o)) for o in view.work_orders],
        }
    )


async def _case(request: Request, views: Views, complaint_id: uuid.UUID) -> CaseRead:
    try:
        view = await views.case(complaint_id)
    except NotFound as exc:
        raise Problem(404, "Not Found", str(exc)) from exc
    mark_case(request, complaint_id)
    return _read(view)


@router.get(
    "/{complaint_id}",
    response_model=CaseRead,
    responses=READ_PROBLEMS,
    summary="A case: where it stands, who owns it, its work orders",
)
async def get_case(complaint_id: uuid.UUID, request: Request, _: Staff, views: Views) -> CaseRead:
    return await _case(request, views, complaint_id)


@router.post(
    "/{complaint_id}/validity",
    response_model=CaseRead,
    responses=VALIDITY_PROBLEMS,
    tags=["supervisors"],
    summary="Overturn an invalid complaint (it is routed), or close one waiting in triage as invalid",
)
async def decide_validity(
    complaint_id: uuid.UUID,
    body: ValidityDecision,
    request: Request,
    actor: Supervisor,
    dispatcher: DispatcherDep,
    views: Views,
) -> CaseRead:
    try:
        if body.valid:
            assert body.note is not None
            await dispatcher.overturn_invalid(
                complaint_id, category=body.category, severity=body.severity, note=body.note, actor=actor
            )
        else:
            assert body.reason is not None
            await dispatcher.close_as_invalid(complaint_id, reason=body.reason, actor=actor)
    except NotFound as exc:
        raise Problem(404, "Not Found", str(exc)) from exc
    except Conflict as exc:
        raise Problem(409, "Conflict", str(exc)) from exc
    return await _case(request, views, complaint_id)
