"""HTTP entrypoints of intake: thin routes that decode, call the submission handler, and answer."""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response, status

from services.intake import repository
from services.intake.auth import Caller, as_seen_by, authorize_submission, may_read
from services.intake.deps import CorrelationId, Pool, Timezone
from services.intake.handlers import IdempotencyKeyReused, SubmitComplaint, submit_complaint
from services.intake.reference import looks_like_reference
from services.intake.repository import StoredComplaint
from services.intake.schemas import ComplaintAccepted, ComplaintCreate, ComplaintRead
from shared.http.problems import Problem, problem_responses
from shared.http.service_app import mark_case

router = APIRouter(prefix="/v1/complaints", tags=["complaints"])
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")

SUBMIT_PROBLEMS = problem_responses(
    403,
    body=True,
    s403="Credential of another channel; or a person on a channel other than phone or counter",
    s422="Invalid fields, each named; an Idempotency-Key reused for another body; or a person's body naming "
    "another agent_id",
)
READ_PROBLEMS = problem_responses(404, s404="No such complaint for this caller")


def _accepted(stored: StoredComplaint, replayed: bool) -> ComplaintAccepted:
    return ComplaintAccepted(
        complaint_id=stored.complaint_id,
        reference_no=stored.reference_no,
        accepted_at=stored.accepted_at,
        replayed=replayed,
    )


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ComplaintAccepted,
    responses=SUBMIT_PROBLEMS,
    summary="Submit a complaint from any channel",
)
async def post_complaint(
    complaint: ComplaintCreate,
    request: Request,
    response: Response,
    caller: Caller,
    pool: Pool,
    timezone: Timezone,
    correlation_id: CorrelationId,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> ComplaintAccepted:
    """Accepts the complaint and answers at once with its id and reference number.

    Retries with the same `Idempotency-Key`, or the same channel ticket id, return the original. A channel key
    submits for its own channel; a signed-in agent (or supervisor) for phone or counter, as themselves: `agent_id`
    is their staff id, and `complaint.received` names them.
    """
    if idempotency_key is not None and not _IDEMPOTENCY_KEY.match(idempotency_key):
        raise Problem(
            422,
            "Invalid request",
            "Idempotency-Key: 1-128 printable ASCII characters",
            errors=[{"field": "Idempotency-Key", "message": "1-128 printable ASCII characters"}],
        )
    allowed = authorize_submission(caller, complaint)
    try:
        submitted = await submit_complaint(
            SubmitComplaint(allowed.complaint, idempotency_key, correlation_id, agent_name=allowed.agent_name),
            pool=pool,
            timezone=timezone,
        )
    except IdempotencyKeyReused as exc:
        raise Problem(
            422,
            "Idempotency-Key reused",
            "this Idempotency-Key was used for a different complaint",
            errors=[{"field": "Idempotency-Key", "message": "already used for a different body"}],
        ) from exc
    mark_case(request, submitted.complaint.complaint_id)
    response.headers["Location"] = f"{router.prefix}/{submitted.complaint.complaint_id}"
    if submitted.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return _accepted(submitted.complaint, submitted.replayed)


@router.get(
    "/{complaint_ref}",
    response_model=ComplaintRead,
    responses=READ_PROBLEMS,
    summary="What was received, and when: by complaint id or reference number",
)
async def get_complaint(complaint_ref: str, request: Request, caller: Caller, pool: Pool) -> ComplaintRead:
    """A channel reads its own submissions; an agent those they took; a supervisor any phone or counter one
    (persons see the customer's contact masked)."""
    stored: StoredComplaint | None = None
    if looks_like_reference(complaint_ref):
        stored = await repository.get_by_reference(pool, complaint_ref)
    else:
        try:
            stored = await repository.get_by_id(pool, uuid.UUID(complaint_ref))
        except ValueError:
            stored = None
    # A channel sees only what it submitted itself: no browsing other channels' customers.
    if stored is None or not may_read(caller, stored.channel, stored.submission):
        raise Problem(404, "Not Found", f"no complaint {complaint_ref!r} that this caller submitted")
    mark_case(request, stored.complaint_id)
    return ComplaintRead(
        complaint_id=stored.complaint_id,
        reference_no=stored.reference_no,
        channel=stored.channel,
        channel_ticket_id=stored.channel_ticket_id,
        received_at=stored.received_at,
        accepted_at=stored.accepted_at,
        submission=as_seen_by(caller, stored.submission),
    )
