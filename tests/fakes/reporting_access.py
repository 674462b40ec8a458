"""In memory: reporting's log of who read personal data (`services.reporting.repository.access_log`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from services.reporting.repository.access_log import PersonalDataRead
from shared.contracts import Event


class InMemoryReadAccessLog:
    def __init__(self) -> None:
        self.rows: list[PersonalDataRead] = []
        self.outbox: list[Event] = []
        self.processed: set[tuple[str, uuid.UUID]] = set()

    async def first_deliveries(self, consumer: str, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        fresh = {e for e in event_ids if (consumer, e) not in self.processed}
        self.processed |= {(consumer, e) for e in event_ids}
        return fresh

    async def add_to_outbox(self, events: Sequence[Event]) -> None:
        self.outbox.extend(events)

    async def log_read(self, read: PersonalDataRead) -> None:
        self.rows.append(read)

    async def reads(self, *, reader: str | None, since: datetime | None, limit: int) -> list[PersonalDataRead]:
        found = [r for r in reversed(self.rows) if (reader is None or r.reader == reader)]
        return [r for r in found if since is None or r.at >= since][:limit]
