"""Complaints closed as invalid (not ours, not a complaint, a test call, outside the service area): the
customer is told why, patiently and once, as soon as their contact is known. Nothing was done for them, so
there is no callback.

The contact travels on its own topic and may come later than `complaint.invalid`: until it does, a
`caller_notice` timer (stage `invalid`) looks again, like a linked caller's first message (`due_timers.py`). A
supervisor may overturn the decision meanwhile (the complaint is routed, or settled at first contact, after all):
the notice still waiting is dropped, so the customer is never told a complaint we act on is invalid.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from services.followup.handlers.context import FollowupWork
from services.followup.model import InvalidComplaint
from services.followup.notifications import customer_recipient
from shared.contracts import ComplaintInvalid, ComplaintResolvedOnContact, ComplaintRouted
from shared.handling import cause_at
from shared.logging import bind_case, get_logger

log = get_logger(__name__)

STAGE = "invalid"


async def closed_invalid(event: ComplaintInvalid, work: FollowupWork) -> None:
    """Record it (once: dispatch saying it again changes nothing) and tell the customer."""
    p = event.payload
    invalid = InvalidComplaint(p.complaint_id, p.reference_no, p.reason, event.correlation_id, p.invalid_at)
    if await work.repo.add_invalid(invalid):
        await tell(p.complaint_id, work)


def untold_notices_known(
    use_case: Callable[[Any, FollowupWork], Awaitable[None]],
) -> Callable[[Sequence[Any], FollowupWork], Awaitable[None]]:
    """A batch of routing events: which of its complaints hold an invalid notice not told yet is read first, in one
    statement (`repo.know_untold_invalid`), so that the valid routing of any other — nearly every one — drops
    nothing without asking Postgres again (issue 27: one statement a batch, not one a complaint); then each event's
    use case, in order, as one at a time."""

    async def handle(events: Sequence[Any], work: FollowupWork) -> None:
        await work.repo.know_untold_invalid(sorted({e.complaint_id for e in events}))
        for event in events:
            bind_case(complaint_id=str(event.complaint_id))
            await use_case(event, work)

    return handle


async def routed_after_all(event: ComplaintRouted, work: FollowupWork) -> None:
    """A valid routing: the complaint is acted on after all (any routing of any complaint may ask)."""
    if event.payload.valid:
        await overturned(event.complaint_id, work)


async def settled_after_all(event: ComplaintResolvedOnContact, work: FollowupWork) -> None:
    """Settled at first contact: acted on after all."""
    await overturned(event.complaint_id, work)


async def overturned(complaint_id: uuid.UUID, work: FollowupWork) -> bool:
    """Drop the complaint's notice if not sent yet (and the timer waiting for the contact). Idempotent; True when
    a notice was dropped."""
    if not await work.repo.drop_untold_invalid(complaint_id):
        return False
    await work.repo.cancel(complaint_id, [STAGE], work.now)
    log.info("invalid notice dropped: the complaint was overturned")
    return True


async def pending(complaint_id: uuid.UUID, work: FollowupWork) -> bool:
    """Is a notice still owed? Not when told already, or overturned: the overturn's cancel can miss a timer the
    worker had claimed at that moment, so the timer asks before retrying."""
    invalid = await work.repo.invalid_complaint(complaint_id)
    return invalid is not None and invalid.told_at is None


async def tell(complaint_id: uuid.UUID, work: FollowupWork) -> None:
    """The reason, to the customer, unless already told; without their contact yet, look again shortly."""
    invalid = await work.repo.invalid_complaint(complaint_id)
    if invalid is None or invalid.told_at is not None:
        return
    recipient = customer_recipient(await work.repo.contact(complaint_id))
    if recipient is None:
        retry = work.context.clocks.caller_notice(complaint_id, work.now, stage=STAGE, owed_since=cause_at())
        await work.repo.schedule(retry)
        return
    await work.repo.mark_told_invalid(complaint_id, work.now)
    work.emit(
        await work.context.notifier.request(
            work.repo,
            complaint_id=complaint_id,
            correlation_id=invalid.correlation_id,
            template_id="complaint_invalid",
            recipient=recipient,
            params={"reference_no": invalid.reference_no, "reason": invalid.reason},
            at=work.now,
        )
    )
