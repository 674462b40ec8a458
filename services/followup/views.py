"""What followup shows over HTTP: the agents' worklist, one callback, and a case's SLA clocks.

Read-only: each view reads through the repository in a unit of work it never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime

from services.followup.model import Callback, Contact
from services.followup.repository import FollowupRepository
from services.followup.schemas import CallbackRead, ContactRead, EscalationRead, SlaRead, TimerRead, Worklist
from shared.db import Transactions


def callback_read(callback: Callback, contact: Contact | None, now: datetime) -> CallbackRead:
    return CallbackRead(
        **{k: v for k, v in asdict(callback).items() if k in CallbackRead.model_fields},
        overdue=callback.status == "pending" and callback.due_at < now,
        contact=ContactRead(**{k: v for k, v in asdict(contact).items() if k in ContactRead.model_fields})
        if contact
        else None,
    )


class FollowupViews:
    def __init__(self, transactions: Transactions[FollowupRepository], clock: Callable[[], datetime]) -> None:
        self.transactions = transactions
        self.clock = clock

    async def worklist(self, *, page: int, page_size: int, owner: str | None = None) -> Worklist:
        """Callbacks to make now (due, or retry interval passed), oldest deadline first, with whom to call;
        optionally one owner's only."""
        async with self.transactions() as work:
            now = self.clock()
            offset = (page - 1) * page_size
            items, total = await work.repo.worklist(now, limit=page_size, offset=offset, owner=owner)
            reads = [callback_read(cb, await work.repo.contact(cb.complaint_id), now) for cb in items]
        return Worklist(items=reads, page=page, page_size=page_size, total=total)

    async def callback(self, callback: Callback) -> CallbackRead:
        async with self.transactions() as work:
            contact = await work.repo.contact(callback.complaint_id)
        return callback_read(callback, contact, self.clock())

    async def sla(self, complaint_id: uuid.UUID) -> SlaRead | None:
        """The case's timers and escalations; None when followup has neither."""
        async with self.transactions() as work:
            timers = await work.repo.timers_of(complaint_id)
            escalations = await work.repo.escalations_of(complaint_id)
        if not timers and not escalations:
            return None
        return SlaRead(
            complaint_id=complaint_id,
            timers=[TimerRead(**asdict(t)) for t in timers],
            escalations=[
                EscalationRead(
                    stage=e.stage,
                    level=e.level,
                    escalated_to=e.escalated_to,
                    reason=e.reason,
                    at=e.at,
                    ladder=e.ladder,
                )
                for e in escalations
            ],
        )

    async def health(self) -> dict[str, int]:
        """Timers due and not fired, events not yet published: what the readiness probe shows."""
        async with self.transactions() as work:
            return {"timers_due": await work.repo.due_timers(), "outbox_pending": await work.repo.outbox_pending()}
