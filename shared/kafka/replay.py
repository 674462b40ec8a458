"""Reading topics from their first offset to "now", for rebuilds and the dead-letter tool.

"Now" is each partition's end offset (high watermark) taken when reading starts: with `acks=all`
publishes it is the offset after the last record every in-sync replica holds, and nothing before it
can still change. Reading stops once every partition's position reached its end, so a rebuild reads
exactly what was on the topics when it started and never waits on an idle topic.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from shared.kafka.admin import topic_partitions


async def assign_from_start(
    consumer: AIOKafkaConsumer, bootstrap_servers: str, topics: Iterable[str]
) -> list[TopicPartition]:
    """Assign every partition of `topics` (no group) and seek each to its first offset.

    LookupError when a topic does not exist."""
    partitions = await topic_partitions(bootstrap_servers, topics)
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)
    return partitions


async def read_to_end(
    consumer: AIOKafkaConsumer, partitions: list[TopicPartition], *, batch_size: int = 2000
) -> AsyncIterator[list[ConsumerRecord]]:
    """Yield batches of records until every partition reached the end offset it had at the start."""
    ends = await consumer.end_offsets(partitions)
    pending = {tp for tp in partitions if await consumer.position(tp) < ends[tp]}
    while pending:
        fetched = await consumer.getmany(*pending, timeout_ms=1000, max_records=batch_size)
        batch = [record for tp, records in fetched.items() for record in records if record.offset < ends[tp]]
        for tp in list(pending):
            if await consumer.position(tp) >= ends[tp]:
                pending.discard(tp)
        if batch:
            yield batch
