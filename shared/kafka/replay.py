"""Reading topics from their first offset to "now", for rebuilds and the dead-letter tool.

End offsets alone are not trusted: the embedded broker can report a high watermark that lags behind
what it serves. Reading stops once every partition reached the end offsets taken at the start *and*
a poll came back empty after waiting `idle_ms` — so nothing already on the topics is left behind.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition


async def assign_from_start(consumer: AIOKafkaConsumer, topics: Iterable[str]) -> list[TopicPartition]:
    await consumer.topics()  # metadata of every topic, not only those the client happened to see
    missing = [t for t in topics if not consumer.partitions_for_topic(t)]
    if missing:
        raise LookupError(f"topics missing on the broker: {missing}")
    partitions = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)
    return partitions


async def read_to_end(
    consumer: AIOKafkaConsumer, partitions: list[TopicPartition], *, batch_size: int = 2000, idle_ms: int = 1500
) -> AsyncIterator[list[ConsumerRecord]]:
    ends = await consumer.end_offsets(partitions)
    reached = {tp for tp in partitions if ends[tp] == 0}
    while True:
        fetched = await consumer.getmany(timeout_ms=idle_ms, max_records=batch_size)
        batch = [record for records in fetched.values() for record in records]
        for tp, records in fetched.items():
            if records and records[-1].offset >= ends[tp] - 1:
                reached.add(tp)
        if batch:
            yield batch
        elif len(reached) == len(partitions):
            return
