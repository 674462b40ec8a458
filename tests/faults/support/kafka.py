"""Kafka as the fault suite reads it: topics from offset 0, end offsets, what each group committed, lags."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from services.channels import consumers as channels_consumers
from services.dispatch import consumers as dispatch_consumers
from services.followup import consumers as followup_consumers
from services.intake import consumers as intake_consumers
from services.notify import consumers as notify_consumers
from services.reporting import consumers as reporting_consumers
from shared.kafka.group_states import group_states
from shared.kafka.offsets import committed_offsets as shared_committed_offsets
from shared.kafka.replay import assign_from_start, read_to_end
from shared.kafka.security import client_options
from shared.observability.group_probe import GroupReading

_SERVICES = (
    intake_consumers,
    dispatch_consumers,
    followup_consumers,
    reporting_consumers,
    notify_consumers,
    channels_consumers,
)
#: Every consumer group the platform runs (default group names) and the topics each reads.
GROUP_TOPICS: dict[str, tuple[str, ...]] = {
    subscription.group: subscription.topics for service in _SERVICES for subscription in service.SUBSCRIPTIONS
}


def consumers_reading(topic: str) -> set[str]:
    """The consumers (their names in dead-letter headers) that read `topic`: each dead-letters a poison on it."""
    return {s.consumer for service in _SERVICES for s in service.SUBSCRIPTIONS if topic in s.topics}


#: What reporting's rebuild reads: its read models' topics and the messages' delivery statuses.
READ_TOPICS = reporting_consumers.READ_MODELS.topics + reporting_consumers.NOTIFICATIONS.topics


# --- Kafka: end offsets, committed offsets, reading topics ----------------------------------------------------


async def read_topics(bootstrap: str, names: Iterable[str]) -> list[ConsumerRecord]:
    """Every record of the topics from offset 0 to the end offsets they had when reading began (see
    shared.kafka.replay)."""
    consumer = AIOKafkaConsumer(
        **client_options(),
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 << 20,
    )
    await consumer.start()
    try:
        partitions = await assign_from_start(consumer, bootstrap, list(names))
        records: list[ConsumerRecord] = []
        async for batch in read_to_end(consumer, partitions, batch_size=5000):
            records += batch
        return records
    finally:
        await consumer.stop()


async def committed_offsets(bootstrap: str, group: str, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
    """What `group` committed per partition (0 when nothing yet); reads only, joins no group. Through the services'
    own reading (`shared.kafka.offsets.committed_offsets`: one OffsetFetch, a coordinator still loading waited out)."""
    async with _admin(bootstrap) as admin:
        found = await shared_committed_offsets(admin, group, partitions)
    return {tp: max(offset, 0) for tp, offset in found.items()}


async def group_members(bootstrap: str, group: str) -> int:
    """How many consumers the group's coordinator counts in `group` now (0 once the last one's session expired)."""
    async with _admin(bootstrap) as admin:
        return (await group_states(admin, [group]))[group][1]


@contextlib.asynccontextmanager
async def _admin(bootstrap: str) -> AsyncIterator[AIOKafkaAdminClient]:
    admin = AIOKafkaAdminClient(**client_options(), bootstrap_servers=bootstrap, request_timeout_ms=30_000)
    await admin.start()
    try:
        yield admin
    finally:
        await admin.close()


async def end_offsets(bootstrap: str, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
    """Each partition's end offset (high watermark): the offset its next record will get. With `acks=all`
    publishes and no transactions, every record below it is readable, and none is above it."""
    consumer = AIOKafkaConsumer(
        **client_options(), bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(list(partitions)))
    finally:
        await consumer.stop()


def consumer_lags(readings: Iterable[GroupReading]) -> dict[tuple[str, str, int], int]:
    """Per (group, topic, partition) of a probe's `readings`: records not yet committed by the group (only non-zero
    entries)."""
    return {(r.group, tp.topic, tp.partition): r.lag(tp) for r in readings for tp in r.offsets if r.lag(tp)}


@contextlib.asynccontextmanager
async def producer(bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    started = AIOKafkaProducer(**client_options(), bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await started.start()
    try:
        yield started
    finally:
        await started.stop()


async def produce_to(sender: AIOKafkaProducer, topic: str, value: bytes, *, key: bytes, partition: int) -> int:
    """Publish one record to an explicit partition; returns its offset."""
    meta = await sender.send_and_wait(topic, value=value, key=key, partition=partition)
    return int(meta.offset)
