"""HTTP entrypoints of serious and emergency cases' approval (`handlers/serious_cases.py` holds the rules): the lead
department proposes the cause analysis and corrective actions, leadership or HR/administration approves them or
sends them back with a reason; the lead work order's resolve is refused (409) until they are approved.

Thin like api.py: decode, run a use case through the door, answer.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, Request

from services.dispatch.auth import CurrentActor, WorkOrderStaff
from services.dispatch.deps import DoorDep
from services.dispatch.errors import Forbidden
from services.dispatch.handlers import serious_cases
from services.dispatch.handlers.serious_cases import SeriousCase
from services.dispatch.model import CorrectiveActionPlan, SeriousProposal
from services.dispatch.schemas import (
    SeriousApproval,
    SeriousCaseList,
    SeriousCaseRead,
    SeriousProposalCreate,
    SeriousProposalRead,
    SeriousSendBack,
)
from shared.http.problems import problem_responses
from shared.http.service_app import mark_case

router = APIRouter(prefix="/v1", tags=["serious cases"])


def _proposal_read(proposal: SeriousProposal) -> SeriousProposalRead:
    return SeriousProposalRead.model_validate(asdict(proposal))


def _case_read(found: SeriousCase, approval_required: bool) -> SeriousCaseRead:
    order, case = found.order, found.case
    return SeriousCaseRead.model_validate(
        {
            **asdict(order),
            "reference_no": case.reference_no if case else None,
            "text": case.text if case else None,
            "proposal": _proposal_read(found.proposal) if found.proposal else None,
            "approval_required": approval_required,
        }
    )


@router.get(
    "/serious-cases",
    response_model=SeriousCaseList,
    responses=problem_responses(403, s403="Only supervisors, duty managers, leadership and HR/administration"),
    summary="Open lead work orders of serious and emergency cases, most urgent first, with their proposals",
)
async def serious_case_list(
    actor: CurrentActor, door: DoorDep, limit: Annotated[int, Query(ge=1, le=500)] = 200
) -> SeriousCaseList:
    if not actor.reads_everything:
        raise Forbidden("only supervisors, duty managers, leadership and HR/administration list serious cases")
    found = await door.run(serious_cases.find, serious_cases.Find(limit))
    required = door.context.serious_approval
    return SeriousCaseList(items=[_case_read(f, required) for f in found])


@router.get(
    "/work-orders/{work_order_id}/serious",
    response_model=SeriousCaseRead,
    responses=problem_responses(403, 404, s403="Not yours", s404="No such work order, or not a serious case's lead"),
    summary="A serious or emergency case's lead work order and where its proposal stands",
)
async def serious_case_of(work_order_id: uuid.UUID, actor: WorkOrderStaff, door: DoorDep) -> SeriousCaseRead:
    found = await door.run(serious_cases.one, serious_cases.One(work_order_id, actor))
    return _case_read(found, door.context.serious_approval)


@router.post(
    "/work-orders/{work_order_id}/serious/propose",
    response_model=SeriousProposalRead,
    status_code=201,
    responses=problem_responses(
        403,
        404,
        409,
        body=True,
        s403="Another department's work order, or a crew",
        s404="No such work order",
        s409="Not a serious case's lead work order; closed, waiting for leadership's decision, or already approved",
        s422="An empty analysis, no action, a deadline passed",
    ),
    summary="The lead department proposes the cause analysis and corrective actions, for leadership to approve",
)
async def propose(
    work_order_id: uuid.UUID, body: SeriousProposalCreate, request: Request, actor: WorkOrderStaff, door: DoorDep
) -> SeriousProposalRead:
    plans = tuple(CorrectiveActionPlan(a.description, a.owner, a.deadline) for a in body.corrective_actions)
    command = serious_cases.Propose(work_order_id, body.cause_analysis, plans, actor)
    proposal = await door.run(serious_cases.propose, command)
    mark_case(request, proposal.complaint_id)
    return _proposal_read(proposal)


#: Leadership's two decisions answer alike.
DECISION_PROBLEMS = problem_responses(
    403,
    404,
    409,
    body=True,
    s403="Not leadership or HR/administration",
    s409="Not a serious case's lead work order, or nothing waits for a decision",
)


async def _decide(command: serious_cases.Decide, request: Request, door: DoorDep) -> SeriousProposalRead:
    """Approve or send back: the one use case, the case marked for the access log, the proposal as read."""
    proposal = await door.run(serious_cases.decide, command)
    mark_case(request, proposal.complaint_id)
    return _proposal_read(proposal)


@router.post(
    "/work-orders/{work_order_id}/serious/approve",
    response_model=SeriousProposalRead,
    responses=DECISION_PROBLEMS,
    summary="Leadership approves the proposal: the lead work order may resolve, setting the approved actions",
)
async def approve(
    work_order_id: uuid.UUID, body: SeriousApproval, request: Request, actor: CurrentActor, door: DoorDep
) -> SeriousProposalRead:
    return await _decide(serious_cases.Decide(work_order_id, "approve", body.note, actor), request, door)


@router.post(
    "/work-orders/{work_order_id}/serious/send-back",
    response_model=SeriousProposalRead,
    responses=DECISION_PROBLEMS,
    summary="Leadership sends the proposal back to the department with a reason; the department proposes again",
)
async def send_back(
    work_order_id: uuid.UUID, body: SeriousSendBack, request: Request, actor: CurrentActor, door: DoorDep
) -> SeriousProposalRead:
    return await _decide(serious_cases.Decide(work_order_id, "send_back", body.reason, actor), request, door)
