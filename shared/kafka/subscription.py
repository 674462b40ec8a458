"""One way to subscribe: a `Subscription` names the group, topics, message model, batch size and the use case that
handles it; `subscribe` registers the FastStream subscriber behind a guarded handler (decode, retry, dead-letter),
and `subscribe_all` wires a service's whole table through its door (`shared.handling`).

Every service declares its subscriptions as one table (`SUBSCRIPTIONS` in its `consumers.py`), so adding a use
case touches the use case and its row, group names are written once, and tools (the fault suite, dashboards, KEDA)
read them from there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from shared.handling import Door
from shared.kafka.consumer import GuardedHandler, guarded, raw_decoder
from shared.kafka.fetch_pacing import IDLE_FETCH, FetchPacer
from shared.observability.kafka import RebalanceCounter

#: The linger of a batch subscription whose row names none: off the routed path, where 100 ms per hop is nothing
#: and a shorter one costs idle CPU (see `fetch_linger`); the routed path's rows name their own.
DEFAULT_LINGER_MS = 100
#: What the broker may hand back early: about a full batch of the platform's events (0.5–1 KB each), at most 1 MiB.
_BYTES_PER_RECORD = 1024
_MAX_MIN_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Subscription:
    """A consumer group of a service: what it reads, how it decodes, and how much at a time.

    `group` is the default group id, `<service>.<what it does>` (or just `<service>`); a deployment or a
    test may swap the service part through its settings (`group_id(prefix)`). `name` is the consumer's
    name in dead-letter headers and logs, the group unless it says otherwise.
    """

    group: str
    topics: tuple[str, ...]
    model: Any
    title: str
    description: str
    #: Messages handed to the handler at once (one transaction); 1 = one at a time.
    batch_size: int = 1
    name: str = ""
    #: The use case: `handler(event, work)` for each first delivery, or, when `batched`, `handler(events, work)`
    #: once for the batch's first deliveries (to lock what they touch in one sorted order).
    handler: Any = None
    batched: bool = False
    #: The service setting (an attribute of its settings) that overrides `batch_size`, if any.
    batch_size_setting: str | None = None
    #: How long (ms) the broker may hold a fetch for more records, so that batches form at moderate rates: each hop
    #: waits up to this long when fewer than about a batch's bytes are there. None: `DEFAULT_LINGER_MS` for a batch
    #: subscription, and the long poll for a single-message one (a linger cannot batch what is handled one by one).
    #: A few ms on the routed path, more off it.
    linger_ms: int | None = None

    @property
    def consumer(self) -> str:
        return self.name or self.group

    def group_id(self, prefix: str | None = None) -> str:
        """The group id with the service's configured prefix in place of the default one."""
        if not prefix:
            return self.group
        _service, _, rest = self.group.partition(".")
        return f"{prefix}.{rest}" if rest else prefix


def subscribe(
    broker: KafkaBroker,
    settings: Any,
    subscription: Subscription,
    handle: Callable[[list[Any]], Awaitable[Any]],
    *,
    group_prefix: str | None = None,
    batch_size: int | None = None,
) -> GuardedHandler[Any]:
    """Register `handle` for `subscription` on `broker`; returns the guard (its counters feed health and tests).

    The subscriber receives raw bytes on purpose: the guard validates, so a bad message is dead-lettered
    instead of failing inside FastStream and being redelivered forever.
    """
    guard = guarded(broker, settings, subscription.consumer, subscription.model, handle)
    size = batch_size or subscription.batch_size
    group_id = subscription.group_id(group_prefix)
    options: dict[str, Any] = {
        "group_id": group_id,
        "listener": RebalanceCounter(group_id),
        "auto_offset_reset": "earliest",
        "decoder": raw_decoder,
        "title": subscription.title,
        "description": subscription.description,
    }
    linger = fetch_linger(subscription.linger_ms, size)
    if size > 1:
        pacer = FetchPacer(linger)
        options.update(IDLE_FETCH)  # long-polls while its topics are quiet, lingers once records flow

        async def on_batch(body: list[bytes], message: KafkaMessage) -> None:
            pacer.batch_arrived(message.consumer)
            try:
                await guard(message)
            finally:  # the quiet spell counts from the batch's end: a long batch is not a quiet second
                pacer.batch_arrived(message.consumer)

        broker.subscriber(*subscription.topics, batch=True, max_records=size, **options)(on_batch)
    else:
        options.update(linger)  # one at a time: nothing to batch, Kafka's long poll unless a linger is named

        async def on_message(body: bytes, message: KafkaMessage) -> None:
            await guard(message)

        broker.subscriber(*subscription.topics, **options)(on_message)
    return guard


def fetch_linger(linger_ms: int | None, batch_size: int) -> dict[str, int]:
    """The consumer options that make a batch wait: Kafka's `fetch.max.wait.ms` and `fetch.min.bytes`.

    Only the broker can make a batch wait. aiokafka's `getmany(timeout_ms=...)` (FastStream's `batch_timeout_ms`)
    returns at once with whatever its fetcher has buffered and waits only when that is nothing, and the fetcher
    sends its next fetch as soon as the buffer is drained; with `fetch.min.bytes` = 1 the broker answers a fetch as
    soon as one record is there, so a batch holds what arrived during one fetch round trip (measured: 1.7 records
    at 50/s, 3–5 at 200/s). With a `fetch.min.bytes` of about a full batch the broker holds each fetch until that
    much is there or `linger_ms` passed: a batch then holds about rate × (linger + handling) — 11–12 at 200/s with
    50 ms. The price: each hop waits up to `linger_ms`, and an idle consumer polls every `linger_ms` instead of
    every 500 ms (measured, client side: 35–40 ms CPU a second per idle consumer at 10 ms, 14 at 50 ms, 8 at
    100 ms, 3.5 with the 500 ms long poll) — hence a short linger on the routed path only, a longer one off it, and
    only while records flow (`shared.kafka.fetch_pacing`: a quiet consumer long-polls).
    """
    if linger_ms is None:
        if batch_size <= 1:
            return {}
        linger_ms = DEFAULT_LINGER_MS
    return {
        "fetch_max_wait_ms": linger_ms,
        "fetch_min_bytes": max(1, min(batch_size * _BYTES_PER_RECORD, _MAX_MIN_BYTES)),
    }


def subscribe_all(
    broker: KafkaBroker,
    settings: Any,
    subscriptions: Sequence[Subscription],
    door: Callable[[], Door[Any, Any]],
    *,
    group_prefix: str | None = None,
) -> dict[str, GuardedHandler[Any]]:
    """Wire a service's table: each subscription's use case runs through `door()` (read when a batch arrives, since
    the door is built in the app's lifespan), deduplicated per consumer name. Returns the guards by that name."""
    guards: dict[str, GuardedHandler[Any]] = {}
    for subscription in subscriptions:
        if subscription.handler is None:
            raise ValueError(f"subscription {subscription.group} names no handler")
        size = getattr(settings, subscription.batch_size_setting) if subscription.batch_size_setting else None
        guards[subscription.consumer] = subscribe(
            broker,
            settings,
            subscription,
            _through_door(door, subscription),
            group_prefix=group_prefix,
            batch_size=size,
        )
    return guards


def _through_door(
    door: Callable[[], Door[Any, Any]], subscription: Subscription
) -> Callable[[list[Any]], Awaitable[Any]]:
    # Processed events are marked under the consumer's name, not the group id: a deployment's group prefix does
    # not make old events new.
    handler, consumer = subscription.handler, subscription.consumer
    if subscription.batched:
        return lambda batch: door().batch(handler, batch, consumer=consumer)
    return lambda batch: door().each(handler, batch, consumer=consumer)
