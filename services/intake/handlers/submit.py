"""Submitting a complaint: the one use case every channel goes through (HTTP and partner tickets).

Idempotent: the same Idempotency-Key, or the same (channel, channel ticket id), returns the complaint created the
first time and publishes nothing new — also when the retries race: the loser's insert meets the winner's row
(the unique indexes), and its answer is the winner's complaint.

One statement stores it (`repository.store`): the earlier complaint if this is a retry, else the new one with the
day's next reference number from the day's sequence (no counter row every submission waits on). A sequence is not
transactional: a number is skipped when the submission taking it fails, or when two submissions of the same
complaint race (as before).
"""

from __future__ import annotations

import uuid

from services.intake.customers import CustomerKeys, customer_keys
from services.intake.events import build_events
from services.intake.handlers.context import IntakeWork
from services.intake.idempotency import fingerprint, replay
from services.intake.model import NewComplaint, StoredComplaint, SubmitComplaint, Submitted
from shared.logging import get_logger

log = get_logger(__name__)


async def submit_complaint(cmd: SubmitComplaint, work: IntakeWork) -> Submitted:
    complaint = cmd.complaint
    request_fingerprint = fingerprint(complaint)
    accepted_at = work.now
    new = NewComplaint(
        complaint_id=cmd.complaint_id or uuid.uuid4(),
        day=accepted_at.astimezone(work.context.timezone).date(),
        channel=complaint.channel.value,
        channel_ticket_id=complaint.channel_ticket_id,
        idempotency_key=cmd.idempotency_key,
        request_fingerprint=request_fingerprint,
        received_at=complaint.received_at,
        accepted_at=accepted_at,
        correlation_id=cmd.correlation_id,
        submission=complaint.model_dump(mode="json"),
    )
    stored = await work.repo.store(new, _customer_keys(cmd, work))
    if stored is None:
        # A concurrent retry of the same submission won the insert: answer with its complaint.
        stored = Submitted(await _winner(cmd, work), replayed=True)
    if stored.replayed:
        return replay(stored.complaint, cmd, request_fingerprint)
    work.emit(
        build_events(stored.complaint, complaint, agent_name=cmd.agent_name, facts=cmd.facts, matched=stored.customer)
    )
    log.info(
        "complaint accepted",
        complaint_id=str(stored.complaint.complaint_id),
        reference_no=stored.complaint.reference_no,
        channel=stored.complaint.channel,
    )
    return stored


def _customer_keys(cmd: SubmitComplaint, work: IntakeWork) -> CustomerKeys:
    """The keys the complaint's customer is matched by: account, phone, the dwelling's address."""
    complaint = cmd.complaint
    return customer_keys(
        account_no=complaint.customer.account_no,
        phone=complaint.customer.phone,
        address=complaint.location.address,
        district=complaint.location.district,
        secret=work.context.customer_hash_key,
    )


async def _winner(cmd: SubmitComplaint, work: IntakeWork) -> StoredComplaint:
    """The complaint a concurrent submission of this one created (committed before our insert gave way)."""
    winner = await work.repo.find_existing(
        channel=cmd.complaint.channel.value,
        idempotency_key=cmd.idempotency_key,
        channel_ticket_id=cmd.complaint.channel_ticket_id,
    )
    if winner is None:
        raise RuntimeError("complaint insert conflicted but no earlier complaint was found")
    return winner
