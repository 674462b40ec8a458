"""HTTP entrypoints of one case: read it (status, owner, work orders), and a supervisor's word on its validity
(the rest of dispatch's are in api.py and incident_api.py).

Thin like api.py: decode, run a use case through the door or read through `DispatchViews`, answer.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi import Path as PathParam

from services.dispatch.answers import customers_shown
from services.dispatch.auth import Staff, Supervisor
from services.dispatch.deps import DoorDep, Views
from services.dispatch.handlers import triage
from services.dispatch.model import Actor, CaseView, CustomerDetails, complaint_key
from services.dispatch.schemas import CaseRead, StaffWorkOrderRead, ValidityDecision
from shared.http.problems import problem_responses
from shared.http.service_app import mark_case

router = APIRouter(prefix="/v1/complaints", tags=["complaints"])
#: A complaint id (a UUID) or a reference number: letters, digits and dashes.
_REFERENCE = r"^[0-9A-Za-z][0-9A-Za-z-]{0,63}$"

READ_PROBLEMS = problem_responses(
    403, 404, s403="Not a department, agent or supervisor; a crew without a job in it", s404="No such complaint"
)
VALIDITY_PROBLEMS = problem_responses(
    403,
    404,
    409,
    body=True,
    s403="Only supervisors decide validity",
    s404="No such complaint",
    s409="valid: the complaint is not closed as invalid; invalid: it is not waiting in triage",
)


def _read(view: CaseView, customer: CustomerDetails | None = None) -> CaseRead:
    return CaseRead.model_validate(
        {
            **asdict(view.case),
            "status": view.status,
            "customer": asdict(customer) if customer else None,
            "location": view.case.location if customer else None,
            "work_orders": [StaffWorkOrderRead.model_validate(asdict(o)) for o in view.work_orders],
        }
    )


async def _case(request: Request, views: Views, complaint: uuid.UUID | str, actor: Actor) -> CaseView:
    view = await views.case(complaint, actor)
    mark_case(request, view.case.complaint_id)
    return view


@router.get(
    "/{complaint_id}",
    response_model=CaseRead,
    responses=READ_PROBLEMS,
    summary="A case by id or reference number: where it stands, who owns it, its work orders, the customer",
)
async def get_case(
    complaint_id: Annotated[
        str, PathParam(pattern=_REFERENCE, description="A complaint id or its reference number (TS-20261123-000042)")
    ],
    request: Request,
    actor: Staff,
    views: Views,
    door: DoorDep,
) -> CaseRead:
    """A signed-in person (a department's, a crew's with a job in it, an agent, a supervisor) sees the customer's
    contact details and address, and the read is logged; a machine key sees the case without them, as before."""
    view = await _case(request, views, complaint_key(complaint_id), actor)
    if not actor.is_person:
        return _read(view)
    customers = await customers_shown(request, actor, door, [view.case])
    return _read(view, customers.get(view.case.complaint_id))


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
    door: DoorDep,
    views: Views,
) -> CaseRead:
    if body.valid:
        assert body.note is not None
        decision = triage.Decide(complaint_id, body.category, body.severity, body.note, actor)
        await door.run(triage.overturn_invalid, decision)
    else:
        assert body.reason is not None
        await door.run(triage.close_as_invalid, triage.CloseAsInvalid(complaint_id, body.reason, actor))
    return _read(await _case(request, views, complaint_id, actor))
