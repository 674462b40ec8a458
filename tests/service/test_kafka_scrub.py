"""`shared.kafka.scrub` on the session's Kafka: a consumed partition is cut past the person's last record only once
its group has committed past it (until then it waits, and nothing is deleted); a dead-letter partition is rewritten
with everyone else's records, in order, with their keys and headers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from shared.kafka.replay import assign_from_start, read_to_end
from shared.kafka.scrub import scrub
from shared.kafka.security import client_options
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import scratch_topics


@pytest.fixture
async def two_topics(migrated: Infrastructure) -> AsyncIterator[tuple[str, ...]]:
    """A topic and its dead letters, one partition each, made for this test and deleted after it."""
    name = f"scrub-test-{uuid.uuid4().hex[:8]}"
    async with scratch_topics(migrated.kafka_bootstrap_servers, name, f"{name}.dlq") as names:
        yield names


async def _send(kafka: str, topic: str, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka, enable_idempotence=True, **client_options())
    await producer.start()
    try:
        for n, value in enumerate(values):
            await producer.send_and_wait(topic, value=value, key=f"k{n}".encode(), headers=[("n", str(n).encode())])
    finally:
        await producer.stop()


async def _read(kafka: str, topic: str) -> list[ConsumerRecord]:
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, group_id=None, **client_options())
    await consumer.start()
    try:
        partitions = await assign_from_start(consumer, kafka, [topic])
        return [r async for batch in read_to_end(consumer, partitions) for r in batch]
    finally:
        await consumer.stop()


def _theirs(record: ConsumerRecord) -> bool:
    return b"erased" in (record.value or b"")


async def test_a_consumed_partition_waits_for_its_group_and_a_dead_letter_partition_keeps_the_others(
    migrated: Infrastructure, two_topics: tuple[str, ...]
) -> None:
    kafka, (topic, dlq) = migrated.kafka_bootstrap_servers, two_topics
    group = f"scrub-test-{uuid.uuid4().hex[:8]}"
    await _send(kafka, topic, [b"before", b"erased 1", b"between", b"erased 2", b"after"])
    await _send(kafka, dlq, [b"other 1", b"erased dead letter", b"other 2"])

    def run() -> object:
        return scrub(kafka, consumed={topic: group}, dead_letters=[dlq], matches=_theirs)

    first = await run()
    assert first.matched == 3 and first.waiting == [TopicPartition(topic, 0)] and not first.done
    assert len(await _read(kafka, topic)) == 5, "nothing cut before the group has taken the records"
    kept = await _read(kafka, dlq)
    assert [r.value for r in kept] == [b"other 1", b"other 2"], "the dead letters rewritten without theirs"
    assert [(r.key, dict(r.headers)["n"]) for r in kept] == [(b"k0", b"0"), (b"k2", b"2")], "keys and headers kept"

    await _commit(kafka, group, TopicPartition(topic, 0), 3)  # the group has taken up to "erased 2", not past it
    assert not (await run()).done
    await _commit(kafka, group, TopicPartition(topic, 0), 4)
    second = await run()
    assert second.done and second.cut == {TopicPartition(topic, 0): 4}
    assert [r.value for r in await _read(kafka, topic)] == [b"after"], "cut just past their last record"
    assert [r.value for r in await _read(kafka, dlq)] == [b"other 1", b"other 2"]
    assert (await run()).matched == 0, "nothing of theirs left"


async def _commit(kafka: str, group: str, partition: TopicPartition, offset: int) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, group_id=group, enable_auto_commit=False, **client_options())
    await consumer.start()
    try:
        consumer.assign([partition])
        await consumer.commit({partition: OffsetAndMetadata(offset, "")})
    finally:
        await consumer.stop()
