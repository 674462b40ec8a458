"""Issue 26, must-show 4, on the session's Kafka and Postgres: 1,000 schema-valid `complaint.closed` events on one
partition, every one refused by its use case (handler poison), read by a subscriber wired as the services wire theirs
(`subscribe_all`, the door on Postgres, the guarded handler with the default retry settings) → exactly 1,000 dead
letters, the group's committed offset at the partition's end within 5 minutes, and one partition assignment (the
first: no rebalance).

Why this is the case to show: the batch of 1,000 fails whole, and its one-by-one isolation retries with backoff only
for `ISOLATION_BUDGET_S`, then gives each remaining record one attempt — so the batch ends well inside
`max.poll.interval.ms` and the member is never evicted by its own retries (an eviction handed the batch to a next
owner, which dead-lettered the same records again). The defaults are the services' own (3 attempts, 200 ms
back-off) but the budget, 10 s here instead of 60 (a tenth of the poll interval rather than a fifth), so the wall
time is about 20 s: the budget's retry pauses, then the remaining records' single attempts, the group's join and the
produce. The same mechanism in simulated time: tests/unit/test_poison_at_scale.py.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.contracts import ComplaintClosed
from shared.contracts.envelope import new_event
from shared.contracts.followup import ComplaintClosedPayload
from shared.db import transactions
from shared.handling import Door, Work
from shared.idempotency import first_deliveries
from shared.kafka.admin import topic_partitions
from shared.kafka.broker import build_broker
from shared.kafka.security import client_options
from shared.kafka.subscription import Subscription, subscribe_all
from shared.observability.metrics import CONSUMER_REBALANCES
from shared.settings import ServiceSettings
from shared.topics import dead_letter_topic
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import read_topic, scratch_topics, wait_until

POISON = 1000
#: The must-show's limit, and aiokafka's default `max.poll.interval.ms`: past it the member would be evicted.
WITHIN_S = 300.0
#: The isolation budget here (the services: `ISOLATION_BUDGET_S`, 60 s).
TEST_BUDGET_S = 10.0


class ClosingRepository:
    """The door's processed-event marks in Postgres; `marked` keeps the size of each unit of work's batch."""

    def __init__(self, conn: asyncpg.Connection, schema: str, marked: list[int]) -> None:
        self.conn, self.schema, self.marked = conn, schema, marked

    async def first_deliveries(self, consumer: str, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        self.marked.append(len(event_ids))
        return await first_deliveries(self.conn, self.schema, consumer, event_ids)

    async def add_to_outbox(self, events: Sequence[Any]) -> None:
        raise AssertionError("the use case never gets that far")


async def close_case(event: ComplaintClosed, work: Work[ClosingRepository, None]) -> None:
    """A use case that refuses every event for a reason no retry changes, and that is not a domain refusal (which
    would be dead-lettered at once): the retried kind of poison."""
    raise LookupError(f"no work order {event.payload.work_order_id} to close")


@pytest.fixture
async def schema(db: asyncpg.Pool) -> AsyncIterator[str]:
    name = f"poison_scale_{uuid.uuid4().hex[:12]}"
    await db.execute(
        f'CREATE SCHEMA "{name}";'
        f'CREATE TABLE "{name}".processed_events (consumer text, event_id uuid, PRIMARY KEY (consumer, event_id))'
    )
    yield name
    await db.execute(f'DROP SCHEMA "{name}" CASCADE')


def closed_events(n: int) -> list[ComplaintClosed]:
    events = []
    for _ in range(n):
        complaint = uuid.uuid4()
        payload = ComplaintClosedPayload(
            complaint_id=complaint,
            reference_no="TS20261206000001",
            work_order_id=uuid.uuid4(),
            outcome="satisfied",
            cycles=1,
            closed_at=datetime.now(UTC),
        )
        events.append(
            new_event(
                ComplaintClosed, complaint_id=complaint, payload=payload, producer="followup", correlation_id="poison"
            )
        )
    return events


async def described(bootstrap: str, names: Sequence[str]) -> bool:
    """Whether the broker's metadata has the new topics yet: on a loaded CI machine it took it 26 s once, and 40 s
    (a producer's metadata wait) another time."""
    try:
        await topic_partitions(bootstrap, names)
    except LookupError:
        return False
    return True


async def produce_all(bootstrap: str, topic: str, events: Sequence[ComplaintClosed]) -> None:
    """All sent before any is awaited, in batches of up to 512 KiB: two or three round trips, where one record (or
    the default 16 KiB batch) at a time took 16 s on a loaded CI machine."""
    producer = AIOKafkaProducer(
        **client_options(), bootstrap_servers=bootstrap, enable_idempotence=True, max_batch_size=512 * 1024
    )
    await producer.start()
    try:
        sent = [
            await producer.send(
                topic,
                value=e.model_dump_json().encode(),
                key=e.key,
                headers=[(k, v.encode()) for k, v in e.headers().items()],
            )
            for e in events
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def at_end(admin: AIOKafkaAdminClient, group: str, tp: TopicPartition, end: int) -> bool:
    found = await admin.list_consumer_group_offsets(group, partitions=[tp])
    return tp in found and found[tp].offset == end


async def end_offset(bootstrap: str, tp: TopicPartition) -> int:
    consumer = AIOKafkaConsumer(**client_options(), bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        return int((await consumer.end_offsets([tp]))[tp])
    finally:
        await consumer.stop()


async def test_a_thousand_poison_records_are_dead_lettered_once_each_and_the_group_reaches_the_end(
    migrated: Infrastructure, db: asyncpg.Pool, schema: str
) -> None:
    bootstrap, run = migrated.kafka_bootstrap_servers, uuid.uuid4().hex[:12]
    topic = f"test.poison-scale.{run}"
    events = closed_events(POISON)
    marked: list[int] = []
    row = Subscription(
        group=f"poison-scale-{run}",
        topics=(topic,),
        model=ComplaintClosed,
        title="t",
        description="d",
        batch_size=POISON,
        handler=close_case,
    )
    door = Door(transactions(db, lambda conn: ClosingRepository(conn, schema, marked)), None)
    tp = TopicPartition(topic, 0)
    assignments = CONSUMER_REBALANCES.labels(row.group)._value.get

    async with scratch_topics(bootstrap, topic, dead_letter_topic(topic)) as names:
        await wait_until(lambda: described(bootstrap, names), timeout=120, interval=0.2)
        await produce_all(bootstrap, topic, events)
        broker = build_broker(bootstrap, client_id="poison-scale-test", metrics=False)
        (guard,) = subscribe_all(broker, ServiceSettings(), [row], lambda: door).values()
        # A tenth of the poll interval rather than the services' fifth: the same mechanism, 50 s less of the
        # suite's time spent in back-off pauses (the 60 s against the 300 s interval: test_poison_at_scale.py).
        guard.isolation_budget_s = TEST_BUDGET_S
        admin = AIOKafkaAdminClient(**client_options(), bootstrap_servers=bootstrap)
        async with broker:
            await admin.start()
            try:
                await broker.start()
                await wait_until(lambda: at_end(admin, row.group, tp, POISON), timeout=WITHIN_S, interval=0.5)
            finally:
                await admin.close()
            assert assignments() == 1, "one assignment, the first: no member was evicted, no rebalance"
        dead = await end_offset(bootstrap, TopicPartition(dead_letter_topic(topic), 0))
        letters = await read_topic(bootstrap, dead_letter_topic(topic), until=lambda rs: len(rs) >= dead)

    ids = Counter(r.json()["event_id"] for r in letters)
    assert [i for i, n in ids.items() if n > 1] == [], "no event dead-lettered twice"
    assert set(ids) == {str(e.event_id) for e in events}, "every event dead-lettered"
    assert len(letters) == POISON and guard.dead_lettered == POISON
    assert marked[0] == POISON, "the 1,000 came as one batch (one unit of work), then were isolated one by one"
    attempts = Counter(r.headers["dlq.attempts"] for r in letters)
    assert set(attempts) == {"3", "1"}, f"retried within the isolation budget, one attempt after it: {attempts}"
