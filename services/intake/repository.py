"""All SQL of intake (schema `intake`), behind `IntakeRepository`.

The repository works on the connection of one unit of work and never commits: the door (`shared.handling`) does.
The reference counter, the complaint, its outbox rows and the processed-ticket marks go through it, so they
commit together or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Protocol

import asyncpg

from services.intake.model import SERVICE, StoredComplaint
from shared import outbox
from shared.contracts import Event
from shared.idempotency import first_deliveries

SCHEMA = SERVICE


class IntakeRepository(Protocol):
    """What intake's use cases read and write (Postgres here; in memory in tests/fakes/intake.py)."""

    async def first_deliveries(self, consumer: str, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]: ...

    async def add_to_outbox(self, events: Sequence[Event]) -> None: ...

    async def find_existing(
        self, *, channel: str, idempotency_key: str | None, channel_ticket_id: str | None
    ) -> StoredComplaint | None:
        """The complaint an earlier submission created: by Idempotency-Key first, then by ticket id."""
        ...

    async def next_reference_sequence(self, day: date) -> int:
        """The day's next counter value (1 for the day's first complaint); the counter row stays locked until
        the unit of work ends, and a rolled-back submission gives its number back."""
        ...

    async def insert_if_new(self, complaint: StoredComplaint) -> bool:
        """Insert unless the idempotency key or the channel's ticket id is already taken (False then)."""
        ...

    async def by_id(self, complaint_id: uuid.UUID) -> StoredComplaint | None: ...

    async def by_reference(self, reference_no: str) -> StoredComplaint | None: ...


_COLUMNS = (
    "complaint_id, reference_no, channel, channel_ticket_id, idempotency_key, request_fingerprint, "
    "received_at, accepted_at, correlation_id, submission"
)


def _row(record: asyncpg.Record | None) -> StoredComplaint | None:
    return StoredComplaint(**dict(record)) if record is not None else None


class PostgresIntakeRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def first_deliveries(self, consumer: str, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        return await first_deliveries(self.conn, SCHEMA, consumer, event_ids)

    async def add_to_outbox(self, events: Sequence[Event]) -> None:
        await outbox.add(self.conn, SCHEMA, events)

    async def find_existing(
        self, *, channel: str, idempotency_key: str | None, channel_ticket_id: str | None
    ) -> StoredComplaint | None:
        if idempotency_key is not None:
            found = await self.conn.fetchrow(
                f"SELECT {_COLUMNS} FROM intake.complaints WHERE channel = $1 AND idempotency_key = $2",
                channel,
                idempotency_key,
            )
            if found is not None:
                return _row(found)
        if channel_ticket_id is None:
            return None
        return _row(
            await self.conn.fetchrow(
                f"SELECT {_COLUMNS} FROM intake.complaints WHERE channel = $1 AND channel_ticket_id = $2",
                channel,
                channel_ticket_id,
            )
        )

    async def next_reference_sequence(self, day: date) -> int:
        return int(
            await self.conn.fetchval(
                "INSERT INTO intake.reference_counters AS c (day, last_value) VALUES ($1, 1) "
                "ON CONFLICT (day) DO UPDATE SET last_value = c.last_value + 1 RETURNING last_value",
                day,
            )
        )

    async def insert_if_new(self, complaint: StoredComplaint) -> bool:
        c = complaint
        inserted = await self.conn.fetchval(
            f"INSERT INTO intake.complaints ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
            "ON CONFLICT DO NOTHING RETURNING true",
            c.complaint_id,
            c.reference_no,
            c.channel,
            c.channel_ticket_id,
            c.idempotency_key,
            c.request_fingerprint,
            c.received_at,
            c.accepted_at,
            c.correlation_id,
            c.submission,
        )
        return bool(inserted)

    async def by_id(self, complaint_id: uuid.UUID) -> StoredComplaint | None:
        return _row(
            await self.conn.fetchrow(f"SELECT {_COLUMNS} FROM intake.complaints WHERE complaint_id = $1", complaint_id)
        )

    async def by_reference(self, reference_no: str) -> StoredComplaint | None:
        return _row(
            await self.conn.fetchrow(f"SELECT {_COLUMNS} FROM intake.complaints WHERE reference_no = $1", reference_no)
        )


async def outbox_pending(pool: asyncpg.Pool) -> int:
    """Events accepted but not yet on Kafka: readiness reports it, an operator watches it during an outage."""
    return int(await pool.fetchval("SELECT count(*) FROM intake.outbox"))
