"""The guarded consumer writes a poison's dead letter once, even when its batch is nacked for an outage and
redelivered whole (the fault suite's poison test saw one consumer dead-letter the same record three times)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from pydantic import BaseModel

from shared.errors import Unavailable
from shared.kafka.consumer import GuardedHandler


class Note(BaseModel):
    n: int


class Broker:
    """What the guard publishes dead letters with."""

    def __init__(self) -> None:
        self.published: list[tuple[str, bytes]] = []

    async def publish(self, value: bytes, *, topic: str, key: Any, headers: Any) -> None:
        self.published.append((topic, value))


def _record(offset: int, value: bytes) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord("notes", 0, offset, 0, 0, b"k", value, None, 1, len(value), [])


async def test_a_redelivered_batch_does_not_dead_letter_its_poison_twice() -> None:
    broker, outages, handled = Broker(), [1], []

    async def handle(batch: list[Note]) -> None:
        if outages:
            outages.pop()
            raise Unavailable("database away")
        handled.extend(note.n for note in batch)

    guard = GuardedHandler(broker=broker, consumer="test", model=Note, handle=handle, transient_pause_s=0)
    batch = [
        _record(0, json.dumps({"n": 1}).encode()),
        _record(1, b'{"n": '),
        _record(2, json.dumps({"n": 2}).encode()),
    ]
    with pytest.raises(Unavailable):
        await guard._handle_records(batch)  # the poison went to the dead letters, then the outage nacked the batch
    await guard._handle_records(batch)  # Kafka redelivers the batch whole
    assert broker.published == [("notes.dlq", b'{"n": ')] and handled == [1, 2]
    assert guard.dead_lettered == 1
