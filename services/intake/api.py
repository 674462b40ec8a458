"""HTTP entrypoints of intake: thin routes that decode, run a use case through the door, and answer.

No route catches: a refusal (`shared.errors`: another channel's credential, an Idempotency-Key reused for another
body, no such complaint for this caller) propagates and is answered once, as problem+json, by the app.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response, status

from services.intake.access import as_seen_by, authorize_submission
from services.intake.auth import Caller
from services.intake.deps import CorrelationId, IntakeDoor, Limits
from services.intake.handlers.complaints import find_complaint
from services.intake.handlers.submit import submit_complaint
from services.intake.idempotency import checked_idempotency_key
from services.intake.model import FindComplaint, StoredComplaint, SubmitComplaint
from services.intake.schemas import ComplaintAccepted, ComplaintCreate, ComplaintRead
from shared.contracts import Channel
from shared.http.problems import problem_responses
from shared.http.service_app import mark_case

router = APIRouter(prefix="/v1/complaints", tags=["complaints"])

SUBMIT_PROBLEMS = problem_responses(
    403,
    409,
    429,
    body=True,
    s403="Credential of another channel; or a person on a channel other than phone or counter",
    s409="The channel_ticket_id names an earlier complaint with another body (a retry sends the same body)",
    s429="Over the submissions per credential or per customer phone: retry after the Retry-After seconds",
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
    door: IntakeDoor,
    correlation_id: CorrelationId,
    limits: Limits,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> ComplaintAccepted:
    """Accepts the complaint and answers at once with its id and reference number.

    Retries with the same `Idempotency-Key`, or the same channel ticket id and body, return the original (the same
    ticket id with another body is 409); past the limits per credential or per customer phone, 429. A channel key
    submits for its own channel; a signed-in agent (or supervisor) for phone or counter, as themselves: `agent_id`
    is their staff id, and `complaint.received` names them.
    """
    key = checked_idempotency_key(idempotency_key)
    allowed = authorize_submission(caller, complaint)
    limits.admit(caller, complaint)
    command = SubmitComplaint(
        allowed.complaint, key, correlation_id, agent_name=allowed.agent_name, refuse_ticket_reuse=True
    )
    submitted = await door.run(submit_complaint, command)
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
async def get_complaint(complaint_ref: str, request: Request, caller: Caller, door: IntakeDoor) -> ComplaintRead:
    """A channel reads its own submissions; an agent those they took; a supervisor any phone or counter one
    (persons see the customer's contact masked)."""
    stored = await door.run(find_complaint, FindComplaint(complaint_ref, caller))
    mark_case(request, stored.complaint_id)
    return ComplaintRead(
        complaint_id=stored.complaint_id,
        reference_no=stored.reference_no,
        channel=Channel(stored.channel),
        channel_ticket_id=stored.channel_ticket_id,
        received_at=stored.received_at,
        accepted_at=stored.accepted_at,
        submission=as_seen_by(caller, stored.submission),
    )
