"""Issue 26, poison at scale: a batch of 1,000 schema-valid records that every handler call refuses is isolated one
by one with retries only while `ISOLATION_BUDGET_S` lasts; after it each gets one attempt and no pause, so the batch
ends well inside `max.poll.interval.ms` (5 minutes) with exactly 1,000 dead letters — the member is not evicted by its
own retries. Time is simulated: the pauses advance the clock the guard reads."""

from __future__ import annotations

import json

import pytest
from aiokafka import ConsumerRecord
from pydantic import BaseModel

from shared.kafka.consumer import ISOLATION_BUDGET_S, GuardedHandler

POLL_INTERVAL_S = 300.0


class Order(BaseModel):
    n: int


class Broker:
    def __init__(self) -> None:
        self.dead_letters: list[int] = []

    async def publish(self, value: bytes, *, topic: str, key: object, headers: dict[str, str]) -> None:
        self.dead_letters.append(json.loads(value)["n"])


async def test_a_thousand_poison_records_end_inside_the_poll_interval_each_dead_lettered_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    monkeypatch.setattr("shared.kafka.consumer.asyncio.sleep", sleep)
    calls: list[int] = []

    async def handle(batch: list[Order]) -> None:
        calls.append(len(batch))
        now[0] += 0.001  # the handler's own time
        raise LookupError("no such work order")

    broker = Broker()
    guard = GuardedHandler(
        broker=broker, consumer="poison", model=Order, handle=handle, retry_backoff_s=0.2, monotonic=lambda: now[0]
    )
    batch = [
        ConsumerRecord("orders", 0, n, 0, 0, b"k", json.dumps({"n": n}).encode(), None, 1, 9, []) for n in range(1000)
    ]
    await guard._handle_records(batch)
    assert sorted(broker.dead_letters) == list(range(1000)) and guard.dead_lettered == 1000, "each exactly once"
    assert now[0] < ISOLATION_BUDGET_S + 10 < POLL_INTERVAL_S, f"the batch took {now[0]:.0f} s of the poll interval"
    retried = sum(1 for size in calls[1:] if size == 1) - 1000
    assert retried > 0, "within the budget the first records still got their retries"
