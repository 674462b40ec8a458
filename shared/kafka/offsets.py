"""Offsets committed per handled batch, for the batch's own partitions only.

FastStream acks a message with aiokafka's `consumer.commit()`, which with no argument commits the position of every
partition the consumer holds — 156 for reporting's consumer, written on every handled batch, 250–400 partition
offsets per complaint at a batch or two per complaint. The guarded handler commits `{partition: last offset + 1}` for
the partitions its records came from instead, and marks the message acked so that FastStream does not commit again.
The strength is unchanged: the commit follows the handler's return (its transaction committed, or the bad message
dead-lettered), and a handler that raises never reaches it (FastStream's nack rewinds the batch, nothing committed).
"""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from faststream.kafka.message import KafkaMessage
from faststream.message import AckStatus

from shared.logging import get_logger

log = get_logger(__name__)


def next_offsets(records: Sequence[ConsumerRecord]) -> dict[TopicPartition, int]:
    """Per partition of `records`, the offset to commit once they are handled: the next one after its last."""
    offsets: dict[TopicPartition, int] = {}
    for record in records:
        tp = TopicPartition(record.topic, record.partition)
        offsets[tp] = max(offsets.get(tp, 0), record.offset + 1)
    return offsets


class BatchOffsets:
    """Commits a handled batch's offsets; an offset whose commit failed rides along with the next commit.

    A failed commit is logged, not raised: the batch is applied, and raising would only rewind and re-handle it.
    Its offsets lag: they go again with the consumer's next commit while it still holds their partitions, or the
    partitions' new owner reads the batch again and the door's processed-event marks skip it. Committed offsets
    can lag what was handled, never lead it.
    """

    def __init__(self, consumer: str) -> None:
        self.consumer = consumer
        self._lagging: dict[TopicPartition, int] = {}

    async def commit(self, message: KafkaMessage, records: Sequence[ConsumerRecord]) -> None:
        """Commit `records`' partitions for `message`, unless it was acked already (ack-first) or did not come from
        aiokafka (FastStream's test client): those are left to FastStream."""
        kafka = message.consumer
        if message.committed is not None or not isinstance(kafka, AIOKafkaConsumer):
            return
        offsets = self._with_lagging(kafka, next_offsets(records))
        if offsets:
            try:
                await kafka.commit(offsets)
                self._lagging.clear()
            except KafkaError as exc:
                self._lagging = offsets
                log.warning("offset commit failed, retried with the next", consumer=self.consumer, error=repr(exc))
        message.committed = AckStatus.ACKED

    def _with_lagging(self, kafka: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
        if not self._lagging:
            return offsets
        held = kafka.assignment()
        merged = {tp: offset for tp, offset in self._lagging.items() if tp in held}
        for tp, offset in offsets.items():
            merged[tp] = max(offset, merged.get(tp, 0))
        return merged


__all__ = ["BatchOffsets", "next_offsets"]
