"""Issue 27: how full the consumers' batches are is on `/metrics` (`kafka_consumer_batch_records{consumer}`), so an
operator — and the load bench — can tell a consumer paying a transaction per record from one sharing it by hundreds.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from aiokafka import ConsumerRecord
from prometheus_client import REGISTRY
from pydantic import BaseModel

from shared.kafka.consumer import GuardedHandler


class Note(BaseModel):
    n: int


def _record(offset: int, n: int) -> ConsumerRecord[bytes, bytes]:
    value = json.dumps({"n": n}).encode()
    return ConsumerRecord("notes", 0, offset, 0, 0, b"k", value, None, 1, len(value), [])


def _message(raw: Any) -> Any:
    """What FastStream hands the guard: the raw record (or a batch's tuple of them); no aiokafka consumer, so the guard
    leaves the offsets alone."""
    return SimpleNamespace(raw_message=raw, consumer=None, committed=None)


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, {"consumer": "batch-size-test", **labels}) or 0.0


async def test_each_handled_batch_is_counted_with_its_records() -> None:
    handled: list[int] = []

    async def handle(batch: list[Note]) -> None:
        handled.extend(note.n for note in batch)

    guard = GuardedHandler(broker=None, consumer="batch-size-test", model=Note, handle=handle)  # type: ignore[arg-type]
    await guard(_message(tuple(_record(i, i) for i in range(3))))
    await guard(_message(_record(3, 3)))
    await guard(_message(tuple(_record(i, i) for i in range(4, 124))))

    assert handled == list(range(124))
    assert _sample("kafka_consumer_batch_records_count") == 3
    assert _sample("kafka_consumer_batch_records_sum") == 124
    assert _sample("kafka_consumer_batch_records_bucket", le="1.0") == 1  # the single message
    assert _sample("kafka_consumer_batch_records_bucket", le="5.0") == 2  # and the batch of three
    assert _sample("kafka_consumer_batch_records_bucket", le="100.0") == 2
    assert _sample("kafka_consumer_batch_records_bucket", le="200.0") == 3  # the batch of 120
