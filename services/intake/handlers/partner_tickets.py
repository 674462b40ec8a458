"""Taking a partner hotline's ticket: mapped onto the standard submission (an invalid one is poison, dead-lettered
with the reason) and submitted like any other complaint, deduplicated on the partner's ticket id."""

from __future__ import annotations

from services.intake.handlers.context import IntakeWork
from services.intake.handlers.submit import submit_complaint
from services.intake.partner_ingress import PartnerTicket, to_submission
from shared.logging import bind_case


async def take_partner_ticket(ticket: PartnerTicket, work: IntakeWork) -> None:
    submission = to_submission(ticket)
    bind_case(correlation_id=submission.correlation_id)
    submitted = await submit_complaint(submission, work)
    bind_case(complaint_id=str(submitted.complaint.complaint_id))
