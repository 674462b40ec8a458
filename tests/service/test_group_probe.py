"""Issue 26: consumer groups read from outside their consumers (`shared.observability.group_probe`). A group whose
consumer stopped still shows — Empty, no member, and a lag that counts what came after its last commit — and a live
one is Stable with its member; the probe joins no group and moves no offset."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.kafka.security import client_options
from shared.observability.group_probe import GroupProbe, group_probe_sampler
from shared.observability.metrics import GROUP_COMMITTED, GROUP_LAG, GROUP_MEMBERS
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import scratch_topics, wait_until


@pytest.fixture
async def topic(migrated: Infrastructure) -> AsyncIterator[str]:
    async with scratch_topics(migrated.kafka_bootstrap_servers, f"probe-test-{uuid.uuid4().hex[:8]}", partitions=2) as (
        name,
    ):
        yield name


async def _send(kafka: str, topic: str, partition: int, n: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka, **client_options())
    await producer.start()
    try:
        for i in range(n):
            await producer.send_and_wait(topic, value=b"x", key=str(i).encode(), partition=partition)
    finally:
        await producer.stop()


async def test_a_stopped_group_shows_empty_with_its_lag_and_a_live_one_stable(
    migrated: Infrastructure, topic: str
) -> None:
    kafka, tag = migrated.kafka_bootstrap_servers, uuid.uuid4().hex[:8]
    stopped, live = f"probe-stopped-{tag}", f"probe-live-{tag}"
    await _send(kafka, topic, 0, 3)
    first = AIOKafkaConsumer(topic, bootstrap_servers=kafka, group_id=stopped, auto_offset_reset="earliest",
                             enable_auto_commit=False, **client_options())  # fmt: skip
    await first.start()
    await wait_until(lambda: first.getmany(timeout_ms=200), timeout=20)  # it read the first records
    await first.commit({TopicPartition(topic, 0): 3})
    await first.stop()  # the consumer is gone; the group keeps its commit
    await _send(kafka, topic, 0, 4)  # what nobody takes now
    running = AIOKafkaConsumer(topic, bootstrap_servers=kafka, group_id=live, **client_options())
    await running.start()
    probe = GroupProbe(kafka, {stopped: (topic,), live: (topic,)}, None)
    try:
        await wait_until(lambda: bool(running.assignment()), timeout=20)
        readings = await group_probe_sampler(probe)()
        gone, alive = readings[stopped], readings[live]
        assert (gone.state, gone.members) == ("Empty", 0)
        assert gone.lag(TopicPartition(topic, 0)) == 4 and gone.lag(TopicPartition(topic, 1)) == 0
        assert (alive.state, alive.members) == ("Stable", 1)
        assert GROUP_LAG.labels(stopped, topic, "0")._value.get() == 4
        assert GROUP_COMMITTED.labels(stopped, topic, "0")._value.get() == 3
        assert GROUP_MEMBERS.labels(stopped, "Empty")._value.get() == 0
        again = await probe.read()
        assert {r.group: r.offsets for r in again}[stopped][TopicPartition(topic, 0)] == (3, 7), (
            "the probe moved nothing"
        )
    finally:
        await probe.close()
        await running.stop()


async def test_the_probe_keeps_its_clients_between_readings_and_starts_afresh_after_a_failed_one(
    migrated: Infrastructure, topic: str
) -> None:
    """A scrape every few seconds reuses one admin client and one consumer (opening them was most of a scrape); a
    reading that fails drops them, and the next reading opens new ones and answers."""
    kafka, group = migrated.kafka_bootstrap_servers, f"probe-kept-{uuid.uuid4().hex[:8]}"
    await _send(kafka, topic, 1, 2)
    probe = GroupProbe(kafka, {group: (topic,)}, None)
    try:
        (first,) = await probe.read()
        kept = probe._clients
        (second,) = await probe.read()
        assert kept is not None and probe._clients is kept, "the second reading opened new clients"
        assert first.offsets == second.offsets == {TopicPartition(topic, 0): (0, 0), TopicPartition(topic, 1): (0, 2)}
        probe.groups = {group: (topic, f"no-such-topic-{uuid.uuid4().hex[:8]}")}
        with pytest.raises(LookupError, match="no-such-topic"):
            await probe.read()
        assert probe._clients is None, "a failed reading left its clients open"
        probe.groups = {group: (topic,)}
        (third,) = await probe.read()
        assert third.offsets == first.offsets and probe._clients not in (None, kept)
    finally:
        await probe.close()
    assert probe._clients is None
