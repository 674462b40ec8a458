"""HTTP entrypoints of PIPL requests (issue 25): export, correct and erase what is held about a person.

Intake owns the subject — customers and their keys — so the requests are answered here; the erasure fans out to
every other holder by `privacy.subject_erased`. Only a signed-in supervisor asks (`privacy.authorize_privacy`),
and every request is logged with who asked and why (`intake.privacy_log`), in the same transaction as its effect.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.intake.auth import Caller
from services.intake.deps import IntakeDoor
from services.intake.handlers.privacy import correct_subject, erase_subject, export_subject
from services.intake.privacy import (
    CorrectSubject,
    EraseSubject,
    ExportSubject,
    SubjectExport,
    authorize_privacy,
    subject_of,
)
from services.intake.schemas import (
    CorrectionCreate,
    CustomerMessageRead,
    ErasureRead,
    SubjectCaseRead,
    SubjectRead,
    SubjectRequest,
)
from shared.contracts import Channel
from shared.http.problems import problem_responses

router = APIRouter(prefix="/v1/privacy", tags=["privacy"])

PROBLEMS = problem_responses(
    403,
    404,
    body=True,
    s403="Not a signed-in supervisor",
    s404="No customer is known by this phone or account number",
    s422="Not exactly one of phone and account_no, no reason, or an invalid corrected field",
)


def _read(export: SubjectExport) -> SubjectRead:
    return SubjectRead(
        customer_id=export.customer_id,
        cases=[
            SubjectCaseRead(
                complaint_id=c.complaint_id,
                reference_no=c.reference_no,
                channel=Channel(c.channel),
                received_at=c.received_at,
                accepted_at=c.accepted_at,
                closed_at=c.closed_at,
                submission=c.submission,
                messages=[
                    CustomerMessageRead(
                        message_id=m.message_id,
                        channel=Channel(m.channel),
                        kind=m.kind,
                        score=m.score,
                        text=m.text,
                        received_at=m.received_at,
                    )
                    for m in c.messages
                ],
            )
            for c in export.cases
        ],
    )


@router.get("/subjects", response_model=SubjectRead, responses=PROBLEMS, summary="Export a person's data")
async def get_subject(query: Annotated[SubjectRequest, Query()], caller: Caller, door: IntakeDoor) -> SubjectRead:
    """Every case held for the customer a phone or account number names, as submitted (contact in clear): the
    answer to a PIPL access request. Logged with who asked and why."""
    person = authorize_privacy(caller)
    subject = subject_of(query.phone, query.account_no)
    export = await door.run(export_subject, ExportSubject(subject, person.staff_id, query.reason))
    return _read(export)


@router.post("/correction", response_model=SubjectRead, responses=PROBLEMS, summary="Correct a person's contact")
async def post_correction(body: CorrectionCreate, caller: Caller, door: IntakeDoor) -> SubjectRead:
    """Correct the contact fields given on every case of the customer; every holder gets the correction as a new
    sealed `complaint.contact`. Logged with who and why."""
    person = authorize_privacy(caller)
    subject = subject_of(body.phone, body.account_no)
    fields = body.correct.model_dump(exclude_unset=True)
    command = CorrectSubject(subject, person.staff_id, body.reason, fields)
    return _read(await door.run(correct_subject, command))


@router.post("/erasure", response_model=ErasureRead, responses=PROBLEMS, summary="Erase a person")
async def post_erasure(body: SubjectRequest, caller: Caller, door: IntakeDoor) -> ErasureRead:
    """Erase the customer a phone or account number names: their key is deleted (every sealed copy of their
    contact, on any topic, stops opening), intake's copy blanked, every holder told to purge. Logged with who and
    why."""
    person = authorize_privacy(caller)
    subject = subject_of(body.phone, body.account_no)
    erasure = await door.run(erase_subject, EraseSubject(person.staff_id, body.reason, subject=subject))
    return ErasureRead(
        customer_id=erasure.customer_id, complaint_ids=list(erasure.complaint_ids), erased_at=erasure.erased_at
    )
