"""Issue 26, the group that stopped for good: a subscriber that takes nothing any more while its process lives is
restarted by the service itself (`shared.kafka.liveness.keep_consuming`), since the embedded runner restarts only a
process that exited and a pod restart is a heavy cure for one consumer. Two ways it stops: its consume loop returns
(FastStream's does when the aiokafka consumer reports itself stopped), or the consumer's background fetch task ends
while the loop waits for records for ever (aiokafka never reads that task's error). Readiness says 503 first (the
stop is seen), then the subscriber has a new consumer in its group, and it consumes: a record produced afterwards is
handled and committed, as the external group probe reads it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition

from services.dispatch import consumers
from shared import topics
from shared.kafka.broker import SupervisedKafkaBroker
from shared.kafka.liveness import stopped_subscribers
from shared.kafka.security import client_options
from shared.observability.group_probe import GroupProbe
from tests.support.dispatch import running_dispatch
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import start_groups_at_end, wait_until


async def _consumer_stopped(consumer: Any) -> None:
    await consumer.stop()  # its loop sees the consumer stopped and returns


async def _fetch_task_ended(consumer: Any) -> None:
    consumer._fetcher._fetch_task.cancel()  # the fetch routine ends; the loop waits in getmany, the member stays


@pytest.mark.parametrize("stop", [_consumer_stopped, _fetch_task_ended], ids=["loop returned", "fetcher ended"])
async def test_a_subscriber_that_stopped_is_restarted_and_consumes_again(
    migrated: Infrastructure, monkeypatch: pytest.MonkeyPatch, stop: Any
) -> None:
    monkeypatch.setattr(SupervisedKafkaBroker, "watchdog_interval_s", 0.5)
    kafka, prefix = migrated.kafka_bootstrap_servers, f"restart-{uuid.uuid4().hex[:8]}"
    await start_groups_at_end(kafka, consumers.SUBSCRIPTIONS, prefix)
    async with running_dispatch(migrated.database_url, kafka, dispatch_consumer_group=prefix) as (app, http):

        async def ready() -> bool:
            answer = await http.get("/readyz")
            return answer.status_code == 200 and app.state.kafka["kafka"] == "connected"

        await wait_until(ready, timeout=60, interval=0.2)
        broker = app.state.broker
        victim = next(s for s in broker.subscribers if topics.DEPARTMENT_UPDATES in s.topic_names)
        stopped = victim.consumer
        # What `consumer_dead` reads, aiokafka's private tasks: an upgrade that renames them fails here.
        assert not stopped._fetcher._fetch_task.done() and not stopped._coordinator._coordination_task.done()
        await stop(stopped)

        async def refused() -> bool:
            return (await http.get("/readyz")).status_code == 503

        await wait_until(refused, timeout=10, interval=0.05)
        await wait_until(ready, timeout=30, interval=0.2)
        assert victim.consumer is not None and victim.consumer is not stopped, "a new consumer in the group"
        assert stopped_subscribers(broker) == []

        tp, offset = await _produce_poison(kafka, topics.DEPARTMENT_UPDATES)
        probe = GroupProbe(kafka, {victim.group_id: [topics.DEPARTMENT_UPDATES]}, None)

        async def consumed() -> bool:
            (reading,) = await probe.read()
            return reading.state == "Stable" and reading.members == 1 and reading.offsets[tp][0] > offset

        try:
            await wait_until(consumed, timeout=30, interval=0.2)
        finally:
            await probe.close()


async def _produce_poison(bootstrap: str, topic: str) -> tuple[TopicPartition, int]:
    """An undecodable record (dead-lettered and committed past by the guard); returns where it landed."""
    producer = AIOKafkaProducer(**client_options(), bootstrap_servers=bootstrap)
    await producer.start()
    try:
        meta = await producer.send_and_wait(topic, b"not json", key=f"restart-{uuid.uuid4().hex}".encode())
    finally:
        await producer.stop()
    return TopicPartition(meta.topic, meta.partition), meta.offset
