"""Complaints closed as invalid (not ours, not a complaint, a test call, outside the service area): the
customer is told why, patiently and once, as soon as their contact is known. Nothing was done for them, so
there is no callback.

The contact travels on its own topic and may come later than `complaint.invalid`: until it does, a
`caller_notice` timer (stage `invalid`) looks again, like a linked caller's first message. A supervisor may
overturn the decision meanwhile (the complaint is routed, or settled at first contact, after all): the notice
still waiting is dropped, so the customer is never told a complaint we act on is invalid. Runs inside the
unit of work of `handlers.py` (the routing consumer and the timer worker), which commits.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from services.followup.model import InvalidComplaint
from services.followup.notifications import Notifier, customer_recipient
from services.followup.repository import FollowupRepository
from services.followup.sla_clocks import ClockRules
from shared.contracts import ComplaintInvalid, Event
from shared.logging import get_logger

log = get_logger(__name__)

STAGE = "invalid"


class InvalidComplaintNotices:
    def __init__(self, *, clocks: ClockRules, notifier: Notifier) -> None:
        self.clocks = clocks
        self.notifier = notifier

    async def on_invalid(self, repo: FollowupRepository, event: ComplaintInvalid, now: datetime) -> list[Event]:
        """Record it (once: dispatch saying it again changes nothing) and tell the customer."""
        p = event.payload
        invalid = InvalidComplaint(p.complaint_id, p.reference_no, p.reason, event.correlation_id, p.invalid_at)
        if not await repo.add_invalid(invalid):
            return []
        return await self.tell(repo, p.complaint_id, now)

    async def overturned(self, repo: FollowupRepository, complaint_id: uuid.UUID, now: datetime) -> bool:
        """The complaint is acted on after all: drop its notice if not sent yet (and the timer waiting for the
        contact). Idempotent, so any routing of any complaint may ask; True when a notice was dropped."""
        if not await repo.drop_untold_invalid(complaint_id):
            return False
        await repo.cancel(complaint_id, [STAGE], now)
        log.info("invalid notice dropped: the complaint was overturned")
        return True

    async def pending(self, repo: FollowupRepository, complaint_id: uuid.UUID) -> bool:
        """Is a notice still owed? Not when told already, or overturned: the overturn's cancel can miss a timer
        the worker had claimed at that moment, so the timer asks before retrying."""
        invalid = await repo.invalid_complaint(complaint_id)
        return invalid is not None and invalid.told_at is None

    async def tell(self, repo: FollowupRepository, complaint_id: uuid.UUID, now: datetime) -> list[Event]:
        """The reason, to the customer, unless already told; without their contact yet, look again shortly."""
        invalid = await repo.invalid_complaint(complaint_id)
        if invalid is None or invalid.told_at is not None:
            return []
        recipient = customer_recipient(await repo.contact(complaint_id))
        if recipient is None:
            await repo.schedule(self.clocks.caller_notice(complaint_id, now, stage=STAGE))
            return []
        await repo.mark_told_invalid(complaint_id, now)
        return await self.notifier.request(
            repo,
            complaint_id=complaint_id,
            correlation_id=invalid.correlation_id,
            template_id="complaint_invalid",
            recipient=recipient,
            params={"reference_no": invalid.reference_no, "reason": invalid.reason},
            at=now,
        )
