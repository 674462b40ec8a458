"""Issue 26: `kafka_consumer_assigned_partitions` is reset when a consumer's partitions are revoked, so a consumer
left with none (or stopped) no longer shows its last count."""

from __future__ import annotations

from aiokafka import TopicPartition

from shared.observability.kafka import RebalanceCounter
from shared.observability.metrics import CONSUMER_ASSIGNED


async def test_the_assigned_partitions_gauge_is_reset_on_revoke() -> None:
    listener = RebalanceCounter("gauge-test")
    partitions = {TopicPartition("t", 0), TopicPartition("t", 1)}
    await listener.on_partitions_assigned(partitions)
    assert CONSUMER_ASSIGNED.labels("gauge-test")._value.get() == 2
    await listener.on_partitions_revoked(partitions)
    assert CONSUMER_ASSIGNED.labels("gauge-test")._value.get() == 0
