"""Idempotent consumers: a processed event id is recorded in the same transaction as its effect.

A redelivered event finds its id already recorded and changes nothing. Two replicas racing on the
same event serialise on the primary key: the second waits for the first to commit, then sees it.

A batch is marked in one statement (`first_deliveries`), its ids inserted in sorted order: two
transactions racing on overlapping batches then wait on their common ids in one order, so neither
holds an id the other waits for while it waits for one the other holds (no deadlock).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import asyncpg


async def first_deliveries(
    conn: asyncpg.Connection, schema: str, consumer: str, event_ids: Iterable[uuid.UUID]
) -> set[uuid.UUID]:
    """Record the events as processed by `consumer`, in one round trip; the ids not recorded before (the others
    were handled already: skip their effect)."""
    ids = sorted(set(event_ids))
    if not ids:
        return set()
    rows = await conn.fetch(
        f'INSERT INTO "{schema}".processed_events (consumer, event_id) '
        "SELECT $1, id FROM unnest($2::uuid[]) AS batch(id) ORDER BY id "
        "ON CONFLICT DO NOTHING RETURNING event_id",
        consumer,
        ids,
    )
    return {row["event_id"] for row in rows}
