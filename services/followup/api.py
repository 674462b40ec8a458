"""HTTP entrypoints of followup: the agents' callback worklist and outcomes; a case's SLA clocks."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from services.followup import callbacks
from services.followup.callbacks import Callback, CallbackClosed, CallbackNotFound
from services.followup.context import FollowupContext
from services.followup.schemas import CallbackRead, ContactRead, OutcomeCreate, SlaRead, Worklist
from services.followup.settings import AgentCredential
from shared.http.auth import PresentedToken, identify
from shared.http.problems import Problem, problem_responses
from shared.http.service_app import mark_case

router = APIRouter(prefix="/v1", tags=["callbacks"])
WORKLIST_PROBLEMS = problem_responses()
OUTCOME_PROBLEMS = problem_responses(404, 409, body=True, s404="No such callback", s409="Outcome already recorded")
SLA_PROBLEMS = problem_responses(404, s404="No SLA clocks for this complaint")


async def agent(request: Request, token: PresentedToken) -> AgentCredential:
    return identify(token, request.app.state.settings.credential_by_token, "a callback agent or supervisor")


Agent = Annotated[AgentCredential, Depends(agent)]


def _ctx(request: Request) -> FollowupContext:
    return request.app.state.followup


async def _read(ctx: FollowupContext, cb: Callback) -> CallbackRead:
    found = await callbacks.contact(ctx.pool, cb.complaint_id)
    return CallbackRead(
        **{k: v for k, v in asdict(cb).items() if k in CallbackRead.model_fields},
        overdue=cb.status == "pending" and cb.due_at < ctx.clock(),
        contact=ContactRead(**dict(found)) if found else None,
    )


@router.get(
    "/callbacks",
    response_model=Worklist,
    responses=WORKLIST_PROBLEMS,
    summary="Callbacks to make now (due and overdue), oldest deadline first",
)
async def worklist(
    request: Request,
    _: Agent,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Worklist:
    ctx = _ctx(request)
    items, total = await callbacks.worklist(ctx.pool, ctx.clock(), limit=page_size, offset=(page - 1) * page_size)
    return Worklist(items=[await _read(ctx, cb) for cb in items], page=page, page_size=page_size, total=total)


@router.post(
    "/callbacks/{callback_id}/outcome",
    response_model=CallbackRead,
    responses=OUTCOME_PROBLEMS,
    summary="Record the call: satisfied, dissatisfied or unreachable",
)
async def record_outcome(callback_id: uuid.UUID, body: OutcomeCreate, request: Request, who: Agent) -> CallbackRead:
    ctx = _ctx(request)
    try:
        cb = await callbacks.record_outcome(ctx, callback_id, body.outcome, agent=who.name, note=body.note)
    except CallbackNotFound as exc:
        raise Problem(404, "Not Found", str(exc)) from exc
    except CallbackClosed as exc:
        raise Problem(409, "Conflict", str(exc)) from exc
    mark_case(request, cb.complaint_id)
    return await _read(ctx, cb)


@router.get(
    "/complaints/{complaint_id}/sla",
    response_model=SlaRead,
    responses=SLA_PROBLEMS,
    tags=["sla"],
    summary="A case's SLA clocks and escalations",
)
async def sla(complaint_id: uuid.UUID, request: Request, _: Agent) -> SlaRead:
    pool = _ctx(request).pool
    found = await pool.fetch(
        "SELECT kind, stage, level, due_at, deadline, fired_at, cancelled_at FROM followup.timers "
        "WHERE complaint_id = $1 ORDER BY due_at, timer_id",
        complaint_id,
    )
    escalations = await pool.fetch(
        "SELECT stage, level, escalated_to, reason, at FROM followup.escalations WHERE complaint_id = $1 ORDER BY id",
        complaint_id,
    )
    if not found and not escalations:
        raise Problem(404, "Not Found", f"no SLA clocks for complaint {complaint_id}")
    mark_case(request, complaint_id)
    return SlaRead(
        complaint_id=complaint_id, timers=[dict(r) for r in found], escalations=[dict(r) for r in escalations]
    )
