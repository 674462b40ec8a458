"""One way to subscribe: a `Subscription` names the group, topics, message model and batch size; `subscribe`
registers the FastStream subscriber behind a guarded handler (decode, retry, dead-letter).

Every service declares its subscriptions as constants in its `consumers.py`, so group names are written
once and tools (the fault suite, dashboards, KEDA) can read them from there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from shared.kafka.consumer import GuardedHandler, guarded, raw_decoder
from shared.observability.kafka import RebalanceCounter


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
    if size > 1:

        async def on_batch(body: list[bytes], message: KafkaMessage) -> None:
            await guard(message)

        broker.subscriber(*subscription.topics, batch=True, max_records=size, **options)(on_batch)
    else:

        async def on_message(body: bytes, message: KafkaMessage) -> None:
            await guard(message)

        broker.subscriber(*subscription.topics, **options)(on_message)
    return guard
