"""SQL of intake's own tables. Repositories never commit: the unit of work does."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg


@dataclass(frozen=True)
class StoredComplaint:
    complaint_id: uuid.UUID
    reference_no: str
    channel: str
    channel_ticket_id: str | None
    idempotency_key: str | None
    request_fingerprint: str
    received_at: datetime
    accepted_at: datetime
    correlation_id: str
    submission: dict[str, Any]


_COLUMNS = (
    "complaint_id, reference_no, channel, channel_ticket_id, idempotency_key, request_fingerprint, "
    "received_at, accepted_at, correlation_id, submission"
)


def _row(record: asyncpg.Record | None) -> StoredComplaint | None:
    return StoredComplaint(**dict(record)) if record is not None else None


async def insert_if_new(conn: asyncpg.Connection, c: StoredComplaint) -> bool:
    """Insert unless the idempotency key or the channel's ticket id is already taken."""
    inserted = await conn.fetchval(
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


async def find_existing(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    channel: str,
    idempotency_key: str | None,
    channel_ticket_id: str | None,
) -> StoredComplaint | None:
    """The complaint an earlier submission created: by Idempotency-Key first, then by ticket id."""
    if idempotency_key is not None:
        found = await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM intake.complaints WHERE channel = $1 AND idempotency_key = $2",
            channel,
            idempotency_key,
        )
        if found is not None:
            return _row(found)
    if channel_ticket_id is not None:
        return _row(
            await conn.fetchrow(
                f"SELECT {_COLUMNS} FROM intake.complaints WHERE channel = $1 AND channel_ticket_id = $2",
                channel,
                channel_ticket_id,
            )
        )
    return None


async def get_by_id(conn: asyncpg.Connection | asyncpg.Pool, complaint_id: uuid.UUID) -> StoredComplaint | None:
    return _row(await conn.fetchrow(f"SELECT {_COLUMNS} FROM intake.complaints WHERE complaint_id = $1", complaint_id))


async def get_by_reference(conn: asyncpg.Connection | asyncpg.Pool, reference_no: str) -> StoredComplaint | None:
    return _row(await conn.fetchrow(f"SELECT {_COLUMNS} FROM intake.complaints WHERE reference_no = $1", reference_no))


async def outbox_pending(pool: asyncpg.Pool) -> int:
    """Events accepted but not yet on Kafka: readiness reports it, an operator watches it during an outage."""
    return int(await pool.fetchval("SELECT count(*) FROM intake.outbox"))
