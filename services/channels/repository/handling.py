"""What the door needs of every repository: processed-event marks and the outbox, in the open transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Protocol

import asyncpg

from shared import outbox
from shared.contracts import Event
from shared.idempotency import first_deliveries

SCHEMA = "channels"


class HandlingStore(Protocol):
    async def first_deliveries(self, consumer: str, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]: ...

    async def add_to_outbox(self, events: Sequence[Event]) -> None: ...

    async def outbox_pending(self) -> int: ...


class PostgresHandlingStore:
    conn: asyncpg.Connection

    async def first_deliveries(self, consumer: str, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        return await first_deliveries(self.conn, SCHEMA, consumer, event_ids)

    async def add_to_outbox(self, events: Sequence[Event]) -> None:
        await outbox.add(self.conn, SCHEMA, events)

    async def outbox_pending(self) -> int:
        return int(await self.conn.fetchval("SELECT count(*) FROM channels.outbox"))
