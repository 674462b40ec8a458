"""Issue 26: a consumer group started from a chosen point in time (`operations.consumer_groups`), on the session's
Kafka — a new group need not replay all of a topic's history, and after a restore the groups read again from the
backup's time. The plan is printed first and changes nothing; a group with a live member is refused (its commits
would overwrite the reset)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from operations.consumer_groups import GroupBusy, _main, offsets_at, reset_group
from shared.kafka.security import client_options
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import scratch_topics, wait_until

T0 = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
async def topic(migrated: Infrastructure) -> AsyncIterator[str]:
    kafka = migrated.kafka_bootstrap_servers
    async with scratch_topics(kafka, f"reset-test-{uuid.uuid4().hex[:8]}") as (name,):
        producer = AIOKafkaProducer(bootstrap_servers=kafka, **client_options())
        await producer.start()
        try:
            for hours in (0, 1, 2, 3):  # four records an hour apart, as of T0
                when = int((T0 + timedelta(hours=hours)).timestamp() * 1000)
                await producer.send_and_wait(name, value=f"h{hours}".encode(), partition=0, timestamp_ms=when)
        finally:
            await producer.stop()
        yield name


async def test_a_group_starts_from_the_first_record_at_the_chosen_time(
    migrated: Infrastructure, topic: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    kafka, group = migrated.kafka_bootstrap_servers, f"reset-{uuid.uuid4().hex[:8]}"
    at = (T0 + timedelta(minutes=90)).isoformat()
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka)
    assert await _main(["reset", "--group", group, "--topics", topic, "--to", at]) == 0
    assert f"{topic}[0]  -> 2" in capsys.readouterr().out, "the plan: the first record at or after 01:30"
    assert await _main(["reset", "--group", group, "--topics", topic, "--to", at, "--execute"]) == 0
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=kafka, group_id=group, **client_options())
    await consumer.start()
    try:
        batch = await wait_until(lambda: consumer.getmany(timeout_ms=500), timeout=30)
        assert [r.value for rs in batch.values() for r in rs] == [b"h2", b"h3"], "it starts there, not at the start"
        with pytest.raises(GroupBusy):  # a live member: refused, nothing committed
            await reset_group(kafka, group, {TopicPartition(topic, 0): 0})
    finally:
        await consumer.stop()
    assert await offsets_at(kafka, [topic], T0 + timedelta(days=1)) == {TopicPartition(topic, 0): 4}, "past all: end"
