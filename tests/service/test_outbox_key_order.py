"""Issue 26, must-show 3's cause: two outbox relays, one stalled after claiming a complaint's first event (its
`workorder.assigned`, say), must not let the second publish that complaint's later events (`acknowledged`,
`resolved`) before it — the second relay takes other complaints' events meanwhile, and the complaint's three reach
Kafka in the order they were written (`shared.outbox._CLAIM`: a relay takes a key only with its advisory lock)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from shared import outbox
from shared.contracts import ComplaintContact
from shared.db import unit_of_work
from shared.topics import COMPLAINT_CONTACT
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import read_topic
from tests.support.outbox_events import contact_event


@pytest.fixture
async def schema(db: asyncpg.Pool) -> AsyncIterator[str]:
    """An outbox of its own (intake's table's shape), so no other test's rows are the oldest."""
    name = f"outbox_order_{uuid.uuid4().hex[:8]}"
    await db.execute(f"CREATE SCHEMA {name}; CREATE TABLE {name}.outbox (LIKE intake.outbox INCLUDING ALL)")
    yield name
    await db.execute(f"DROP SCHEMA {name} CASCADE")


class Stalled:
    """A producer that holds the first send until released, then sends through the real one."""

    def __init__(self, real: Any) -> None:
        self.real, self.claimed, self.release = real, asyncio.Event(), asyncio.Event()

    async def send(self, topic: str, **kwargs: Any) -> Any:
        self.claimed.set()
        await self.release.wait()
        return await self.real.send(topic, **kwargs)


async def _write(db: asyncpg.Pool, schema: str, *events: ComplaintContact) -> None:
    async with unit_of_work(db) as uow:
        await outbox.add(uow.conn, schema, list(events))
        uow.commit()


async def test_a_stalled_relay_holds_its_complaints_later_events_back(
    migrated: Infrastructure, db: asyncpg.Pool, schema: str
) -> None:
    kafka, case = migrated.kafka_bootstrap_servers, uuid.uuid4()
    assigned, acknowledged, resolved = (contact_event(step, case) for step in ("assigned", "acknowledged", "resolved"))
    another = contact_event("another complaint")
    await _write(db, schema, assigned)
    first = outbox.OutboxRelay(db, schema, kafka, batch_size=10)
    second = outbox.OutboxRelay(db, schema, kafka, batch_size=10)
    await first._ensure_producer()
    await second._ensure_producer()
    stalled = first._producer = Stalled(first._producer)
    try:
        held = asyncio.create_task(first.publish_batch())
        await asyncio.wait_for(stalled.claimed.wait(), timeout=10)  # it holds `assigned`, mid-publish
        await _write(db, schema, acknowledged, resolved)
        await _write(db, schema, another)
        assert await second.publish_batch() == 1, "the second relay takes only the other complaint's event"
        stalled.release.set()
        assert await held == 1
        assert await second.publish_batch() == 2
        assert await db.fetchval(f"SELECT count(*) FROM {schema}.outbox") == 0
    finally:
        stalled.release.set()
        first._producer = stalled.real
        await first._reset_producer()
        await second._reset_producer()
    ours = [str(e.event_id) for e in (assigned, acknowledged, resolved)]
    records = await read_topic(
        kafka, COMPLAINT_CONTACT, until=lambda rs: set(ours) <= {r.headers.get("event_id") for r in rs}
    )
    published = [r.headers["event_id"] for r in records if r.headers.get("event_id") in ours]
    assert published == ours, "the complaint's events reach Kafka in the order they were written"


@pytest.mark.parametrize("plan", ["index scan", "sequential scan and sort"])
async def test_a_claim_locks_the_keys_of_its_batch_only_so_a_second_relay_takes_the_next(
    db: asyncpg.Pool, schema: str, plan: str
) -> None:
    """A backlog of 3,000 complaints' events. With the scan the planner picks for a table it thinks small (forced
    here), the lock tried in the scan's WHERE clause was taken for every row: the first relay held all 3,000 keys
    and the second found nothing to take. The claim tries the locks on the oldest `CLAIM_WINDOW` batches only."""
    await db.executemany(
        f"INSERT INTO {schema}.outbox (event_id, topic, key, payload) VALUES ($1, 'complaint.contact', $2, $3)",
        [(uuid.uuid4(), str(uuid.uuid4()), b"{}") for _ in range(3000)],
    )
    claim, batch = outbox._CLAIM.format(schema=schema), 500
    async with db.acquire() as first, db.acquire() as second, first.transaction(), second.transaction():
        if plan != "index scan":
            await first.execute("SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off")
            await second.execute("SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off")
        taken = [row["id"] for row in await first.fetch(claim, batch, outbox.CLAIM_WINDOW)]
        held = await first.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
        )
        then = [row["id"] for row in await second.fetch(claim, batch, outbox.CLAIM_WINDOW)]
    oldest = await db.fetchval(f"SELECT min(id) FROM {schema}.outbox")
    assert taken == list(range(oldest, oldest + batch)), "the first relay takes the oldest batch, in order"
    assert held == batch, "and holds the keys of its batch, no more"
    assert then == list(range(oldest + batch, oldest + 2 * batch)), "the second takes the next batch"
