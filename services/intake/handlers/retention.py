"""Retention of contact data (issue 25): a customer's contact data is kept `INTAKE_CONTACT_RETENTION_DAYS` (three
years by default) after their last case closed, then erased the way a request erases it (`privacy.erase_subject`,
reason "retention"). Intake learns that a case closed from followup's `complaint.closed`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from services.intake.handlers.context import IntakeWork
from services.intake.handlers.privacy import erase_subject
from services.intake.privacy import EraseSubject
from shared.contracts import ComplaintClosed


async def take_closed(event: ComplaintClosed, work: IntakeWork) -> None:
    """Remember when the case closed: the start of its retention period (a reopened case closes again later)."""
    await work.repo.mark_closed(event.payload.complaint_id, event.payload.closed_at)


@dataclass(frozen=True)
class SweepRetention:
    """Erase up to `limit` customers whose every case closed more than `retention` ago."""

    retention: timedelta
    limit: int = 100


async def sweep_retention(cmd: SweepRetention, work: IntakeWork) -> list[uuid.UUID]:
    expired = await work.repo.expired_customers(work.now - cmd.retention, cmd.limit)
    for customer_id in expired:
        reason = f"retention: every case closed more than {cmd.retention.days} days ago"
        await erase_subject(
            EraseSubject(actor="retention", reason=reason, customer_id=customer_id, kind="retention"), work
        )
    return expired
