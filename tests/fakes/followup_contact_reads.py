"""In memory: followup's log of who was shown whose contact (`services.followup.repository.contact_reads`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from services.followup.repository.contact_reads import ContactShown
from shared.contracts import Event


class InMemoryContactReadLog:
    def __init__(self) -> None:
        self.rows: list[ContactShown] = []
        self.outbox: list[Event] = []
        self.processed: set[tuple[str, uuid.UUID]] = set()

    async def first_deliveries(self, consumer: str, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        fresh = {e for e in event_ids if (consumer, e) not in self.processed}
        self.processed |= {(consumer, e) for e in event_ids}
        return fresh

    async def add_to_outbox(self, events: Sequence[Event]) -> None:
        self.outbox.extend(events)

    async def log_contact_reads(self, reads: Sequence[ContactShown]) -> None:
        self.rows.extend(reads)

    async def contact_reads(self, complaint_id: uuid.UUID) -> list[ContactShown]:
        return [r for r in reversed(self.rows) if r.complaint_id == complaint_id]
