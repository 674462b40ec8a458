"""The guarded consumer: decode, handle with bounded retries, or dead-letter — never crash the loop.

Ack policy (see DESIGN.md): subscribers run with `AckPolicy.NACK_ON_ERROR` and manual commits, so an
offset is committed only after the handler returned, i.e. after its database transaction committed, and only for
the partitions the batch came from (`shared.kafka.offsets`; FastStream's own ack commits every partition the
consumer holds). A nack commits nothing.
Failures split in two:
- *poison* (undecodable, invalid, or a handler error that persists for `max_attempts` tries — one try once a
  batch's isolation has spent `ISOLATION_BUDGET_S`): the message goes to `<topic>.dlq` with the reason, and the
  partition moves on;
- *infrastructure* (database or broker down, failing over, full or busy: `shared.db_errors`, by SQLSTATE): nothing
  is dead-lettered — the message (or batch) is nacked, Kafka redelivers it after a pause that doubles while the
  outage lasts (up to `MAX_TRANSIENT_PAUSE_S`), and it succeeds once the dependency is back.

Works for single-message and batch subscribers alike: a batch is handled in one call (one
transaction); when that fails for a reason other than an outage, its messages are retried one by one
so that only the bad one is dead-lettered.

Every retry, redelivery and dead letter is counted (`kafka_consumer_*_total{consumer, topic}`); with tracing
on, each record gets its own span, parented on its headers, so a complaint's trace runs through batches.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any, Generic, TypeVar

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from faststream.kafka.message import KafkaMessage
from opentelemetry import trace
from opentelemetry.context import Context
from pydantic import TypeAdapter, ValidationError

from shared.db_errors import dependency_unavailable
from shared.errors import DomainError, Invalid, Unavailable
from shared.kafka.dead_letter import dead_letter_headers, dead_letter_topic
from shared.kafka.offsets import BatchOffsets
from shared.kafka.versions import NewerVersion, known_versions, newer_than_known
from shared.logging import bind_case, clear_case, get_logger
from shared.observability import tracing
from shared.observability.metrics import (
    CONSUMER_BATCH_RECORDS,
    CONSUMER_DEAD_LETTERS,
    CONSUMER_NEWER_VERSIONS,
    CONSUMER_RETRIES,
    CONSUMER_TRANSIENT_FAILURES,
)

log = get_logger(__name__)

M = TypeVar("M")


def redelivered(exc: BaseException) -> bool:
    """Not the message's fault: a dependency down or busy (`shared.db_errors`: the database by its SQLSTATE, the
    broker), or a handler saying its collaborator is (`Unavailable`). Paused and redelivered, never dead-lettered."""
    return isinstance(exc, Unavailable) or dependency_unavailable(exc)


#: How long a failed batch's one-by-one isolation may retry with backoff: past it, each remaining message gets one
#: attempt and no pause. Why (issue 26, poison at scale): 1,000 handler-poison records retried 3 times with backoff
#: take ~10 minutes, past `max.poll.interval.ms` (5 minutes): the member was evicted mid-batch and the next owner
#: dead-lettered the same records again. Within the budget a flaky message still gets its retries.
ISOLATION_BUDGET_S = 60.0

#: The longest pause between redeliveries while a dependency stays down (the pause doubles from
#: `transient_pause_s` with each consecutive failure, and is back to the first once a message succeeds).
MAX_TRANSIENT_PAUSE_S = 5.0
#: How many dead-lettered records a consumer remembers, so a redelivered batch does not dead-letter its poison again
#: (a process restart forgets: a dead letter is then written at least once, as the offsets are committed).
DEAD_LETTERS_REMEMBERED = 10_000


class PoisonMessage(Invalid):
    """A handler's verdict that the message can never succeed (e.g. a business rule rejects it)."""


def describe_validation_error(exc: ValidationError) -> str:
    parts = [f"{'.'.join(str(p) for p in e['loc']) or '<body>'}: {e['msg']}" for e in exc.errors()]
    return "invalid message: " + "; ".join(parts)


def _headers(record: ConsumerRecord) -> dict[str, str]:
    return {k: v.decode(errors="replace") for k, v in (record.headers or ())}


class GuardedHandler(Generic[M]):
    """Wraps a handler of decoded messages so a FastStream subscriber can never be crashed by one.

    `handle` receives a list (one item for single-message subscribers, the decoded batch otherwise)
    and should do its work in one transaction.
    """

    def __init__(
        self,
        *,
        broker: KafkaBroker,
        consumer: str,
        model: Any,
        handle: Callable[[list[M]], Awaitable[Any]],
        max_attempts: int = 3,
        retry_backoff_s: float = 0.2,
        transient_pause_s: float = 1.0,
        isolation_budget_s: float = ISOLATION_BUDGET_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.broker = broker
        self.consumer = consumer
        self.adapter: TypeAdapter[M] = TypeAdapter(model)
        #: The highest version of each event type the model reads: a newer one is redelivered (`shared.kafka.versions`).
        self.known_versions = known_versions(model)
        self.handle = handle
        self.max_attempts = max_attempts
        self.retry_backoff_s = retry_backoff_s
        self.transient_pause_s = transient_pause_s
        self.isolation_budget_s, self.monotonic = isolation_budget_s, monotonic
        self.dead_lettered = 0
        #: Consecutive redeliveries for an outage: each doubles the pause before the next (`MAX_TRANSIENT_PAUSE_S`).
        self._outage_failures = 0
        self.offsets = BatchOffsets(consumer)
        self._batch_records = CONSUMER_BATCH_RECORDS.labels(consumer)
        #: The records this process already dead-lettered (topic, partition, offset), newest last: a batch nacked for
        #: an outage after its poison went to the dead letters is redelivered whole, and the poison must not go twice.
        self._sent_to_dlq: OrderedDict[tuple[str, int, int], None] = OrderedDict()

    async def __call__(self, message: KafkaMessage) -> None:
        raw = message.raw_message
        records: Sequence[ConsumerRecord] = raw if isinstance(raw, tuple) else (raw,)
        self._batch_records.observe(len(records))
        with self._record_spans(records, batch=isinstance(raw, tuple)):
            await self._handle_records(records)
        await self.offsets.commit(message, records)

    async def _handle_records(self, records: Sequence[ConsumerRecord]) -> None:
        try:
            decoded: list[tuple[ConsumerRecord, M]] = []
            for record in records:
                try:
                    decoded.append((record, self.adapter.validate_json(record.value or b"")))
                except ValidationError as exc:
                    newer = newer_than_known(record.value or b"", self.known_versions)
                    if newer is not None:
                        await self._hold_newer(decoded, newer, record.topic)
                    await self._dead_letter(record, describe_validation_error(exc), "ValidationError", 1)
            await self._handle_decoded(decoded)
        finally:
            clear_case()

    async def _handle_decoded(self, decoded: list[tuple[ConsumerRecord, M]]) -> None:
        if not decoded:
            return
        if len(decoded) == 1:
            await self._one_with_retries(*decoded[0])
            return
        try:
            await self.handle([item for _, item in decoded])
        except Exception as exc:
            if redelivered(exc):
                await self._pause_for_redelivery(exc, decoded[0][0].topic)
                raise
            log.warning("batch failed, isolating the bad message", size=len(decoded), error=repr(exc))
            deadline = self.monotonic() + self.isolation_budget_s
            for record, item in decoded:
                await self._one_with_retries(record, item, retry=self.monotonic() < deadline)
        self._outage_failures = 0

    async def _hold_newer(self, decoded: list[tuple[ConsumerRecord, M]], newer: NewerVersion, topic: str) -> None:
        """Handle what came before the newer event, then nack: Kafka redelivers from there (what was handled comes
        again too, and is deduplicated by its event id; a poison before it is dead-lettered once)."""
        CONSUMER_NEWER_VERSIONS.labels(self.consumer, topic).inc()
        await self._handle_decoded(decoded)
        await self._pause_for_redelivery(newer, topic)
        raise newer

    async def _one_with_retries(self, record: ConsumerRecord, item: M, *, retry: bool = True) -> None:
        """`retry` False (a batch's isolation past its budget): one attempt, no backoff — see ISOLATION_BUDGET_S."""
        headers = _headers(record)
        bind_case(
            correlation_id=headers.get("correlation_id"),
            complaint_id=str(getattr(item, "complaint_id", "") or "") or None,
        )
        attempts = self.max_attempts if retry else 1
        for attempt in range(1, attempts + 1):
            try:
                await self.handle([item])
                self._outage_failures = 0
                return
            except Exception as exc:
                if redelivered(exc):
                    await self._pause_for_redelivery(exc, record.topic)
                    raise
                if isinstance(exc, DomainError):
                    # A refusal will not change on a retry: dead-lettered at once, with the words an HTTP caller gets.
                    reason = str(exc) if isinstance(exc, PoisonMessage) else exc.reason
                    await self._dead_letter(record, reason, type(exc).__name__, attempt)
                    return
                if attempt == attempts:
                    reason = f"handler failed {attempt} times: {exc!r}"
                    await self._dead_letter(record, reason, type(exc).__name__, attempt)
                    return
                log.warning("handler failed, retrying", attempt=attempt, error=repr(exc))
                CONSUMER_RETRIES.labels(self.consumer, record.topic).inc()
                await asyncio.sleep(self.retry_backoff_s * attempt)

    async def _pause_for_redelivery(self, exc: BaseException, topic: str) -> None:
        # Not the message's fault: pause (longer while the outage lasts), then let Kafka redeliver it (nack, no commit).
        CONSUMER_TRANSIENT_FAILURES.labels(self.consumer, topic).inc()
        longest = max(MAX_TRANSIENT_PAUSE_S, self.transient_pause_s)
        pause = min(self.transient_pause_s * 2**self._outage_failures, longest)
        self._outage_failures = min(self._outage_failures + 1, 16)
        log.warning("dependency unavailable, message will be redelivered", error=repr(exc), pause_s=pause)
        await asyncio.sleep(pause)

    async def _dead_letter(self, record: ConsumerRecord, reason: str, error_type: str, attempts: int) -> None:
        where = (record.topic, record.partition, record.offset)
        if where in self._sent_to_dlq:
            return  # redelivered after an outage nacked its batch: its dead letter is already written
        headers = dead_letter_headers(
            original_headers=_headers(record),
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            consumer=self.consumer,
            reason=reason,
            error_type=error_type,
            attempts=attempts,
        )
        # Raises if Kafka is down: the message is then nacked and retried, never silently dropped.
        await self.broker.publish(
            record.value or b"", topic=dead_letter_topic(record.topic), key=record.key, headers=headers
        )
        self._sent_to_dlq[where] = None
        if len(self._sent_to_dlq) > DEAD_LETTERS_REMEMBERED:
            self._sent_to_dlq.popitem(last=False)
        self.dead_lettered += 1
        CONSUMER_DEAD_LETTERS.labels(self.consumer, record.topic).inc()
        log.error(
            "message dead-lettered",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            reason=reason,
            dead_letter_topic=dead_letter_topic(record.topic),
        )

    @contextmanager
    def _record_spans(self, records: Sequence[ConsumerRecord], *, batch: bool) -> Iterator[None]:
        """With tracing on: a span per record, and the context each complaint's events continue (see
        `shared.observability.tracing`). A single message's span nests in FastStream's consume span and is
        current while it is handled; a batch's spans are parented on each record's own headers."""
        if not tracing.enabled():
            yield
            return
        tracer = tracing.tracer()
        contexts: dict[str, Context] = {}
        with ExitStack() as spans:
            span: trace.Span | None = None
            for record in records:
                span = tracer.start_span(
                    f"{self.consumer} handle",
                    context=tracing.extract(_headers(record)) if batch else None,
                    kind=trace.SpanKind.CONSUMER,
                    attributes={
                        tracing.SERVICE_ATTRIBUTE: self.consumer.partition(".")[0],
                        "messaging.system": "kafka",
                        "messaging.destination.name": record.topic,
                        "messaging.consumer.group.name": self.consumer,
                        "messaging.kafka.offset": record.offset,
                        tracing.COMPLAINT_ATTRIBUTE: (record.key or b"").decode(errors="replace"),
                    },
                )
                spans.callback(span.end)
                if record.key:
                    contexts[record.key.decode(errors="replace")] = trace.set_span_in_context(span)
            if not batch and span is not None:
                spans.enter_context(trace.use_span(span))
            with tracing.case_contexts(contexts):
                yield


def guarded(
    broker: KafkaBroker, settings: Any, consumer: str, model: Any, handle: Callable[[list[Any]], Awaitable[Any]]
) -> GuardedHandler[Any]:
    """A guarded handler with the service's retry settings (`consumer_max_attempts`, `consumer_retry_backoff_ms`)."""
    return GuardedHandler(
        broker=broker,
        consumer=consumer,
        model=model,
        handle=handle,
        max_attempts=settings.consumer_max_attempts,
        retry_backoff_s=settings.consumer_retry_backoff_ms / 1000,
    )


def raw_decoder(message: KafkaMessage) -> bytes:
    """Keep the body as bytes: the guarded handler decodes it, so a bad body cannot fail in FastStream."""
    return message.body


__all__ = ["GuardedHandler", "PoisonMessage", "describe_validation_error", "guarded", "raw_decoder"]
