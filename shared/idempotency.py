"""Idempotent consumers: a processed event id is recorded in the same transaction as its effect.

A redelivered event finds its id already recorded and changes nothing. Two replicas racing on the
same event serialise on the primary key: the second waits for the first to commit, then sees it.
"""

from __future__ import annotations

import uuid

import asyncpg


async def first_delivery(conn: asyncpg.Connection, schema: str, consumer: str, event_id: uuid.UUID) -> bool:
    """Record the event as processed by `consumer`; False when it already was (skip the effect)."""
    status = await conn.execute(
        f'INSERT INTO "{schema}".processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
        consumer,
        event_id,
    )
    return status.endswith(" 1")
