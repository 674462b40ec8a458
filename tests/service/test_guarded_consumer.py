"""The guarded consumer on the real broker: bounded retries then a dead letter; outages are not poison; a handled
batch commits the offsets of its own partitions only, a nacked one commits nothing."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.consumer.group_coordinator import GroupCoordinator
from faststream.kafka.annotations import KafkaMessage
from pydantic import BaseModel

from shared.kafka.admin import apply_topics
from shared.kafka.broker import build_broker
from shared.kafka.consumer import GuardedHandler, raw_decoder
from shared.kafka.security import client_options
from shared.kafka.subscription import Subscription, subscribe
from shared.settings import ServiceSettings
from shared.topics import DEPARTMENT_UPDATES, dead_letter_topic
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import produce, read_topic, wait_until


class Note(BaseModel):
    run: str
    n: int
    behaviour: str = "ok"


async def test_failing_message_is_retried_then_dead_lettered_and_the_rest_flows(migrated: Infrastructure) -> None:
    run = uuid.uuid4().hex
    attempts: dict[int, int] = {}
    handled: list[int] = []
    outage = {"left": 2}

    async def handle(batch: list[Note]) -> None:
        (note,) = batch
        if note.run != run:
            return
        attempts[note.n] = attempts.get(note.n, 0) + 1
        if note.behaviour == "bug":
            raise ValueError("cannot handle this note")
        if note.behaviour == "outage" and outage["left"] > 0:
            outage["left"] -= 1
            raise ConnectionRefusedError("database down")
        handled.append(note.n)

    broker = build_broker(migrated.kafka_bootstrap_servers, client_id="guard-test")
    guard = GuardedHandler(
        broker=broker,
        consumer="guard-test",
        model=Note,
        handle=handle,
        max_attempts=3,
        retry_backoff_s=0.01,
        transient_pause_s=0.05,
    )

    @broker.subscriber(DEPARTMENT_UPDATES, group_id=f"guard-{run}", auto_offset_reset="earliest", decoder=raw_decoder)
    async def on_note(body: bytes, message: KafkaMessage) -> None:
        await guard(message)

    key = run.encode()  # one key: one partition, so order is observable
    notes = [
        Note(run=run, n=0),
        Note(run=run, n=1, behaviour="bug"),
        Note(run=run, n=2, behaviour="outage"),
        Note(run=run, n=3),
    ]
    async with broker:
        await broker.start()
        await produce(
            migrated.kafka_bootstrap_servers, DEPARTMENT_UPDATES, [(key, n.model_dump_json().encode()) for n in notes]
        )
        await wait_until(lambda: 3 in handled, timeout=30)

    assert handled == [0, 2, 3], "the bad note was skipped, the others handled in order"
    assert attempts[1] == 3, "bounded retries"
    assert attempts[2] == 3, "an outage is retried by redelivery until it passes, never dead-lettered"
    letters = await read_topic(
        migrated.kafka_bootstrap_servers,
        dead_letter_topic(DEPARTMENT_UPDATES),
        until=lambda rs: any(r.key == key for r in rs),
        settle=0.5,
    )
    mine = [r for r in letters if r.key == key]
    assert len(mine) == 1
    assert json.loads(mine[0].value)["n"] == 1
    assert mine[0].headers["dlq.attempts"] == "3"
    assert "cannot handle this note" in mine[0].headers["dlq.reason"]
    assert mine[0].headers["dlq.error_type"] == "ValueError"


async def _committed(bootstrap: str, group: str) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(**client_options(), bootstrap_servers=bootstrap)
    await admin.start()
    try:
        found = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp: meta.offset for tp, meta in found.items() if meta.offset >= 0}


async def test_a_batch_commits_only_its_own_partitions_and_a_nack_nothing(
    migrated: Infrastructure, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FastStream's ack would commit all 12 partitions the consumer holds on every batch; the guard commits the one
    partition the batch came from, after the handler returned, and nothing while the handler keeps failing."""
    run = uuid.uuid4().hex[:12]
    bootstrap = migrated.kafka_bootstrap_servers
    topic, group = f"test.batch-commits.{run}", f"batch-commits-{run}"
    await apply_topics(bootstrap, [topic], 12)
    commits: list[dict[TopicPartition, Any]] = []
    original = GroupCoordinator.commit_offsets

    async def spy(self: GroupCoordinator, assignment: Any, offsets: dict[TopicPartition, Any]) -> None:
        commits.append(dict(offsets))
        await original(self, assignment, offsets)

    monkeypatch.setattr(GroupCoordinator, "commit_offsets", spy)
    outage = {"on": True, "failed": 0}
    handled: list[int] = []

    async def handle(batch: list[Note]) -> None:
        if outage["on"]:
            outage["failed"] += 1
            raise ConnectionRefusedError("database down")
        handled.extend(note.n for note in batch)

    row = Subscription(group=group, topics=(topic,), model=Note, title="t", description="d", batch_size=100)
    broker = build_broker(bootstrap, client_id="batch-commits-test", metrics=False)
    guard = subscribe(broker, ServiceSettings(), row, handle)
    guard.transient_pause_s = 0.05
    key = run.encode()
    async with broker:
        await broker.start()
        await produce(bootstrap, topic, [(key, Note(run=run, n=n).model_dump_json().encode()) for n in range(20)])
        (subscriber,) = broker.subscribers
        await wait_until(lambda: len(subscriber.consumer.assignment()) == 12, timeout=30)  # type: ignore[attr-defined]
        await wait_until(lambda: outage["failed"] >= 2, timeout=30)
        assert commits == [], "a nacked batch commits nothing"
        assert await _committed(bootstrap, group) == {}
        outage["on"] = False
        await wait_until(lambda: len(handled) >= 20, timeout=30)
        await wait_until(lambda: commits, timeout=10)

    assert sorted(handled) == list(range(20))
    (partition,) = {tp for offsets in commits for tp in offsets}
    assert partition.topic == topic
    assert all(len(offsets) == 1 for offsets in commits), "one partition per commit, not the 12 held"
    assert await _committed(bootstrap, group) == {partition: 20}
