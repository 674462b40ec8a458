"""Offsets committed per handled batch, for the batch's own partitions only; committed offsets read back only from an
answer that holds them.

FastStream acks a message with aiokafka's `consumer.commit()`, which with no argument commits the position of every
partition the consumer holds — 156 for reporting's consumer, written on every handled batch, 250–400 partition
offsets per complaint at a batch or two per complaint. The guarded handler commits `{partition: last offset + 1}` for
the partitions its records came from instead, and marks the message acked so that FastStream does not commit again.
The strength is unchanged: the commit follows the handler's return (its transaction committed, or the bad message
dead-lettered), and a handler that raises never reaches it (FastStream's nack rewinds the batch, nothing committed).

Reading them back (issue 26): from OffsetFetch v2 on, a coordinator that cannot answer yet — loading the group's
offsets after a broker restart or a leader move (COORDINATOR_LOAD_IN_PROGRESS), or no longer the group's coordinator —
says so once, at the top of its answer, with no partitions. aiokafka 0.14 reads only the partitions' errors, so it
takes that answer for "nothing committed": a consumer given its partitions then resets them to `auto_offset_reset`
(earliest for every subscription: the whole history replayed), and the external group probe shows every record as
lag. Both now treat it as what it is, retriable: the consumer's coordinator raises the answer's error, which it retries
as it does a partition's "loading" (`_raise_offset_fetch_errors`); an admin reading retries until its deadline
(`committed_offsets`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.consumer.group_coordinator import GroupCoordinator
from aiokafka.errors import (
    GroupCoordinatorNotAvailableError,
    GroupLoadInProgressError,
    KafkaError,
    NotCoordinatorForGroupError,
    for_code,
)
from aiokafka.protocol.commit import OffsetFetchRequest
from faststream.kafka.message import KafkaMessage
from faststream.message import AckStatus

from shared.logging import get_logger

log = get_logger(__name__)

#: How long an admin reading of committed offsets waits out a coordinator that cannot answer yet (a broker restart's
#: offsets load takes seconds); past it the reading fails rather than say "nothing committed".
COMMITTED_READ_TIMEOUT_S = 10.0


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


def offset_fetch_error(response: Any) -> KafkaError | None:
    """The error an OffsetFetch answer carries at its top (v2 and later), None when it has none."""
    code = getattr(response, "error_code", 0)
    return for_code(code)() if code else None


def _raise_offset_fetch_errors() -> None:
    """Make every consumer's coordinator raise an OffsetFetch answer's top-level error instead of reading its empty
    partition list as "nothing committed". Raised from the coordinator's one send path, its callers do what they do
    for a partition's error: retry a retriable one after a back-off (re-finding a coordinator that moved), and
    surface any other (e.g. GROUP_AUTHORIZATION_FAILED) rather than reset the group. Installed once, on import."""
    original: Callable[[GroupCoordinator, Any], Awaitable[Any]] = GroupCoordinator._send_req
    if getattr(original, "raises_offset_fetch_errors", False):
        return

    async def send_req(self: GroupCoordinator, request: Any) -> Any:
        response = await original(self, request)
        error = offset_fetch_error(response) if isinstance(request, OffsetFetchRequest) else None
        if error is None:
            return response
        log.warning(
            "committed offsets not read: the coordinator answered with an error", group=self.group_id, error=repr(error)
        )
        if isinstance(error, NotCoordinatorForGroupError | GroupCoordinatorNotAvailableError):
            self.coordinator_dead()
        raise error

    send_req.raises_offset_fetch_errors = True  # type: ignore[attr-defined]
    GroupCoordinator._send_req = send_req


_raise_offset_fetch_errors()


async def committed_offsets(
    admin: AIOKafkaAdminClient,
    group: str,
    partitions: Sequence[TopicPartition],
    *,
    timeout_s: float = COMMITTED_READ_TIMEOUT_S,
) -> dict[TopicPartition, int]:
    """What `group` committed on each of `partitions` (-1 where it never committed), through the admin API.

    aiokafka's `list_consumer_group_offsets` drops the answer's top-level error and returns nothing for it; an answer
    without error names every partition asked for (-1 where nothing was committed), so one that leaves a partition
    out carried such an error, and is asked again — as is a retriable error raised — until `timeout_s` has passed.
    """
    wanted = list(dict.fromkeys(partitions))
    if not wanted:
        return {}
    deadline, pause = time.monotonic() + timeout_s, 0.1
    while True:
        try:
            found = await admin.list_consumer_group_offsets(group, partitions=wanted)
            if all(tp in found for tp in wanted):
                return {tp: found[tp].offset for tp in wanted}
            error: KafkaError = GroupLoadInProgressError(f"{group}: the coordinator answered without offsets")
        except KafkaError as exc:
            if not exc.retriable:
                raise
            error = exc
        if time.monotonic() + pause > deadline:
            raise error
        await asyncio.sleep(pause)
        pause = min(pause * 2, 1.0)


__all__ = ["BatchOffsets", "committed_offsets", "next_offsets", "offset_fetch_error"]
