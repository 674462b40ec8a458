"""Reading topics in tests: from the beginning, until a condition holds or a deadline passes."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.contracts import Event
from shared.kafka.admin import topic_partitions
from shared.kafka.replay import assign_from_start
from shared.kafka.security import client_options


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        """The value decoded — once: a read's condition may look at every record again after each fetch."""
        return self._decoded

    @cached_property
    def _decoded(self) -> Any:
        return json.loads(self.value)


async def read_topic(
    bootstrap: str,
    topic: str,
    *,
    until: Callable[[list[Record]], bool],
    timeout: float = 30.0,
    settle: float = 0.0,
) -> list[Record]:
    """All records of `topic` from offset 0 once `until(records)` holds (then `settle` more seconds,
    to catch duplicates that would arrive late). Raises TimeoutError with what was seen."""
    # No consumer group: assigning partitions directly skips the group join, which costs seconds.
    consumer = AIOKafkaConsumer(
        **client_options(), bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, fetch_max_wait_ms=100
    )
    await consumer.start()
    records: list[Record] = []
    try:
        assigned = await topic_partitions(bootstrap, [topic])
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        deadline = time.monotonic() + timeout
        settled_at: float | None = None
        grew = True  # the condition is looked at once, then only when records came in
        while True:
            batch = await consumer.getmany(timeout_ms=200)
            grew = grew or any(batch.values())
            for msgs in batch.values():
                records += [
                    Record(
                        m.topic,
                        m.partition,
                        m.offset,
                        m.key,
                        m.value or b"",
                        {k: v.decode() for k, v in (m.headers or ())},
                    )
                    for m in msgs
                ]
            if settled_at is None and grew and until(records):
                settled_at = time.monotonic() + settle
            grew = False
            if settled_at is not None and time.monotonic() >= settled_at:
                return records
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}: condition not met in {timeout}s; saw {len(records)} records")
    finally:
        await consumer.stop()


async def first_records(bootstrap: str, names: Iterable[str], n: int) -> list[tuple[str, bytes | None, bytes]]:
    """Up to `n` messages of the topics `names` from offset 0, exactly as their producers sent them: (topic, key,
    value), for sending them again (a redelivery). At least one must be there."""
    wanted = list(names)
    consumer = AIOKafkaConsumer(**client_options(), bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        await assign_from_start(consumer, bootstrap, wanted)
        fetched = await consumer.getmany(timeout_ms=2000, max_records=n)
        records = [(m.topic, m.key, m.value or b"") for msgs in fetched.values() for m in msgs]
    finally:
        await consumer.stop()
    assert records, f"no message on {sorted(wanted)}"
    return records[:n]


@asynccontextmanager
async def scratch_topics(bootstrap: str, *names: str, partitions: int = 1) -> AsyncIterator[tuple[str, ...]]:
    """Topics of a test's own (none of the platform's records, no other test's), deleted after it."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_options())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, partitions, 1) for n in names])
        yield names
        await admin.delete_topics(list(names))
    finally:
        await admin.close()


async def produce(bootstrap: str, topic: str, messages: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(**client_options(), bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for key, value in messages:
            await producer.send_and_wait(topic, value=value, key=key)
    finally:
        await producer.stop()


async def publish(bootstrap: str, *events: Event) -> None:
    """Each event on its own topic, keyed by its complaint, as its producer would publish it; in the order given
    within a topic."""
    by_topic: dict[str, list[tuple[bytes, bytes]]] = {}
    for event in events:
        by_topic.setdefault(event.topic, []).append((event.key, event.model_dump_json().encode()))
    for topic, messages in by_topic.items():
        await produce(bootstrap, topic, messages)


async def wait_until(predicate: Callable[[], Any], *, timeout: float = 30.0, interval: float = 0.05) -> Any:
    """Poll an (async or sync) predicate until truthy; the poll-with-deadline that replaces sleeps."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met before the deadline")
        await asyncio.sleep(interval)


async def start_groups_at_end(bootstrap: str, subscriptions: Iterable[Any], prefix: str) -> None:
    """Commit the offsets of each subscription's group (with the service's group `prefix`) at its topics' current
    end, so a service started in-process reads only what comes next, not every event of the session so far."""
    for subscription in subscriptions:
        consumer = AIOKafkaConsumer(
            **client_options(),
            bootstrap_servers=bootstrap,
            group_id=subscription.group_id(prefix),
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            assigned = await topic_partitions(bootstrap, subscription.topics)
            consumer.assign(assigned)
            ends = await consumer.end_offsets(assigned)
            await consumer.commit({tp: ends[tp] for tp in assigned})
        finally:
            await consumer.stop()
