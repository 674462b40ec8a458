"""Issue 27, must-show 3, on the real broker and Postgres, through `subscribe_all` and the door: a batch holding
several events of one complaint applies them in offset order, and a crash between the batch's commit and its offset
commit duplicates nothing (the consumer group's next member reads the batch again; the door's processed-event marks
skip it)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from faststream.kafka.message import KafkaMessage
from faststream.message import AckStatus
from pydantic import BaseModel

from shared.db import transactions
from shared.handling import Door, Work
from shared.idempotency import first_deliveries
from shared.kafka.admin import apply_topics
from shared.kafka.broker import build_broker
from shared.kafka.offsets import BatchOffsets
from shared.kafka.security import client_options
from shared.kafka.subscription import Subscription, subscribe_all
from shared.settings import ServiceSettings
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import produce, read_topic, wait_until

#: A complaint's life as one consumer reads it: received, a department's update, reopened, another update.
KINDS = ("complaint.received", "department.update", "complaint.reopened", "department.update")
COMPLAINTS = 8


class CaseEvent(BaseModel):
    event_id: uuid.UUID
    complaint_id: uuid.UUID
    kind: str
    seq: int


class OrderRepository:
    """A real Postgres repository: the door's processed-event marks, and the effect — one row per applied event, in
    the order applied, with the transaction (the batch) that applied it."""

    def __init__(self, conn: asyncpg.Connection, schema: str) -> None:
        self.conn, self.schema = conn, schema

    async def first_deliveries(self, consumer: str, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        return await first_deliveries(self.conn, self.schema, consumer, event_ids)

    async def add_to_outbox(self, events: Sequence[Any]) -> None:
        raise AssertionError("this use case emits nothing")

    async def apply(self, event: CaseEvent) -> None:
        await self.conn.execute(
            f'INSERT INTO "{self.schema}".applied (event_id, complaint_id, kind, seq) VALUES ($1, $2, $3, $4)',
            event.event_id,
            event.complaint_id,
            event.kind,
            event.seq,
        )


async def apply_event(event: CaseEvent, work: Work[OrderRepository, None]) -> None:
    await work.repo.apply(event)


@pytest.fixture
async def schema(db: asyncpg.Pool) -> AsyncIterator[str]:
    name = f"batch_order_{uuid.uuid4().hex[:12]}"
    await db.execute(
        f'CREATE SCHEMA "{name}";'
        f'CREATE TABLE "{name}".processed_events (consumer text, event_id uuid, PRIMARY KEY (consumer, event_id));'
        f'CREATE TABLE "{name}".applied (position bigserial PRIMARY KEY, event_id uuid NOT NULL, '
        "complaint_id uuid NOT NULL, kind text NOT NULL, seq int NOT NULL, "
        "batch bigint NOT NULL DEFAULT txid_current())"
    )
    yield name
    await db.execute(f'DROP SCHEMA "{name}" CASCADE')


async def _committed(bootstrap: str, group: str) -> int:
    """The offsets `group` committed, summed over its partitions (0 when none)."""
    admin = AIOKafkaAdminClient(**client_options(), bootstrap_servers=bootstrap)
    await admin.start()
    try:
        found = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return sum(meta.offset for meta in found.values() if meta.offset > 0)


async def test_a_batch_applies_events_in_offset_order_and_a_crash_before_its_offset_commit_duplicates_nothing(
    migrated: Infrastructure, db: asyncpg.Pool, schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bootstrap, run = migrated.kafka_bootstrap_servers, uuid.uuid4().hex[:12]
    topic = f"test.batch-order.{run}"
    await apply_topics(bootstrap, [topic], 12)
    complaints = [uuid.uuid4() for _ in range(COMPLAINTS)]
    # Interleaved across complaints (partitions), each complaint's events in its life's order: offset order.
    events = [
        CaseEvent(event_id=uuid.uuid4(), complaint_id=c, kind=kind, seq=seq)
        for seq, kind in enumerate(KINDS)
        for c in complaints
    ]
    await produce(bootstrap, topic, [(e.complaint_id.bytes, e.model_dump_json().encode()) for e in events])
    total = len(events)

    row = Subscription(
        group=f"batch-order-{run}",
        topics=(topic,),
        model=CaseEvent,
        title="t",
        description="d",
        batch_size=500,
        handler=apply_event,
    )
    door = Door(transactions(db, lambda conn: OrderRepository(conn, schema)), None)

    async def applied() -> list[asyncpg.Record]:
        return await db.fetch(f'SELECT * FROM "{schema}".applied ORDER BY position')

    # The crash: the batch's transaction commits, then the process dies before its offsets reach Kafka.
    lost: list[int] = []

    async def dies_before_the_offset_commit(self: BatchOffsets, message: KafkaMessage, records: Any) -> None:
        lost.append(len(records))
        message.committed = AckStatus.ACKED  # nor may FastStream commit: the process is gone

    with monkeypatch.context() as crash:
        crash.setattr(BatchOffsets, "commit", dies_before_the_offset_commit)
        first = build_broker(bootstrap, client_id="batch-order-test", metrics=False)
        subscribe_all(first, ServiceSettings(), [row], lambda: door)
        async with first:
            await first.start()
            await wait_until(lambda: sum(lost) >= total, timeout=60)
    rows = await applied()
    assert len(rows) == total
    assert await _committed(bootstrap, row.group) == 0, "the crash left the group's offsets uncommitted"

    # Offset order per complaint, several events of a complaint in one batch (one transaction).
    records = await read_topic(bootstrap, topic, until=lambda rs: len(rs) >= total)
    in_offset_order = [
        CaseEvent.model_validate_json(r.value) for r in sorted(records, key=lambda r: (r.partition, r.offset))
    ]
    for complaint in complaints:
        mine = [r for r in rows if r["complaint_id"] == complaint]
        assert [r["event_id"] for r in mine] == [e.event_id for e in in_offset_order if e.complaint_id == complaint]
        assert [r["kind"] for r in mine] == list(KINDS)
        assert len({r["batch"] for r in mine}) == 1, "the complaint's events came in one batch"
    assert max(lost) > len(KINDS), "a batch held several complaints' events"

    # A new member of the group reads the batch again: the door skips every event, the offsets are committed.
    second = build_broker(bootstrap, client_id="batch-order-test", metrics=False)
    subscribe_all(second, ServiceSettings(), [row], lambda: door)
    async with second:
        await second.start()
        await wait_until(lambda: _all_committed(bootstrap, row.group, total), timeout=60)
    again = await applied()
    assert [r["event_id"] for r in again] == [r["event_id"] for r in rows], "nothing applied twice"
    marks = await db.fetchval(f'SELECT count(*) FROM "{schema}".processed_events')
    assert marks == total


async def _all_committed(bootstrap: str, group: str, total: int) -> bool:
    return await _committed(bootstrap, group) >= total
