"""Submitting a complaint: the one use case every channel goes through (HTTP and partner tickets).

Idempotent: the same Idempotency-Key, or the same (channel, channel ticket id), returns the complaint created the
first time and publishes nothing new — also when the retries race: the loser's insert finds the winner's row
(the unique indexes), and its answer is the winner's complaint.

The day's reference number is taken in the same unit of work as the complaint and its events: a submission that
rolls back gives its number back, and a number is only skipped when two submissions of the same complaint race.
"""

from __future__ import annotations

import uuid

from services.intake.events import build_events
from services.intake.handlers.context import IntakeWork
from services.intake.idempotency import fingerprint, replay
from services.intake.model import StoredComplaint, SubmitComplaint, Submitted
from services.intake.reference import format_reference
from shared.logging import get_logger

log = get_logger(__name__)


async def submit_complaint(cmd: SubmitComplaint, work: IntakeWork) -> Submitted:
    complaint = cmd.complaint
    request_fingerprint = fingerprint(complaint)
    existing = await _earlier(cmd, work)
    if existing is not None:
        return replay(existing, cmd, request_fingerprint)

    day = work.now.astimezone(work.context.timezone).date()
    sequence = await work.repo.next_reference_sequence(day)
    stored = StoredComplaint(
        complaint_id=uuid.uuid4(),
        reference_no=format_reference(day, sequence),
        channel=complaint.channel.value,
        channel_ticket_id=complaint.channel_ticket_id,
        idempotency_key=cmd.idempotency_key,
        request_fingerprint=request_fingerprint,
        received_at=complaint.received_at,
        accepted_at=work.now,
        correlation_id=cmd.correlation_id,
        submission=complaint.model_dump(mode="json"),
    )
    if not await work.repo.insert_if_new(stored):
        # A concurrent retry of the same submission won the insert: answer with its complaint.
        winner = await _earlier(cmd, work)
        if winner is None:
            raise RuntimeError("complaint insert conflicted but no earlier complaint was found")
        return replay(winner, cmd, request_fingerprint)
    work.emit(build_events(stored, complaint, agent_name=cmd.agent_name))
    log.info(
        "complaint accepted",
        complaint_id=str(stored.complaint_id),
        reference_no=stored.reference_no,
        channel=stored.channel,
    )
    return Submitted(stored, replayed=False)


async def _earlier(cmd: SubmitComplaint, work: IntakeWork) -> StoredComplaint | None:
    """The complaint an earlier submission of this one created, if any."""
    return await work.repo.find_existing(
        channel=cmd.complaint.channel.value,
        idempotency_key=cmd.idempotency_key,
        channel_ticket_id=cmd.complaint.channel_ticket_id,
    )
