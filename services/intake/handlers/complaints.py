"""Reading one complaint by its id or reference number: only a caller who may see it finds it (`access.py`);
for everyone else it does not exist (404), so nobody learns other channels' customers by guessing."""

from __future__ import annotations

import uuid

from services.intake.access import may_read
from services.intake.handlers.context import IntakeWork
from services.intake.model import FindComplaint, StoredComplaint
from services.intake.reference import looks_like_reference
from shared.errors import NotFound


async def find_complaint(query: FindComplaint, work: IntakeWork) -> StoredComplaint:
    stored = await _by_ref(query.complaint_ref, work)
    # A channel sees only what it submitted itself: no browsing other channels' customers.
    if stored is None or not may_read(query.caller, stored.channel, stored.submission):
        raise NotFound(f"no complaint {query.complaint_ref!r} that this caller submitted")
    return stored


async def _by_ref(complaint_ref: str, work: IntakeWork) -> StoredComplaint | None:
    if looks_like_reference(complaint_ref):
        return await work.repo.by_reference(complaint_ref)
    complaint_id = _uuid(complaint_ref)
    return await work.repo.by_id(complaint_id) if complaint_id is not None else None


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
