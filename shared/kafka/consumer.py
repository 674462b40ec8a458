"""The guarded consumer: decode, handle with bounded retries, or dead-letter — never crash the loop.

Ack policy (see DESIGN.md): subscribers run with `AckPolicy.NACK_ON_ERROR` and manual commits, so an
offset is committed only after the handler returned, i.e. after its database transaction committed.
Failures split in two:
- *poison* (undecodable, invalid, or a handler error that persists for `max_attempts` tries): the
  message goes to `<topic>.dlq` with the reason, and the partition moves on;
- *infrastructure* (database or network down): nothing is dead-lettered — the message is nacked,
  Kafka redelivers it after a pause, and it succeeds once the dependency is back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import asyncpg
from aiokafka.errors import KafkaError
from faststream.kafka import KafkaBroker
from faststream.kafka.message import KafkaMessage
from pydantic import BaseModel, ValidationError

from shared.kafka.dead_letter import dead_letter_headers, dead_letter_topic
from shared.logging import bind_case, clear_case, get_logger

log = get_logger(__name__)

M = TypeVar("M", bound=BaseModel)

#: Errors that say "a dependency is down", not "this message is bad".
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    KafkaError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
)


class PoisonMessage(Exception):
    """A handler's verdict that the message can never succeed (e.g. a business rule rejects it)."""


def describe_validation_error(exc: ValidationError) -> str:
    parts = [f"{'.'.join(str(p) for p in e['loc']) or '<body>'}: {e['msg']}" for e in exc.errors()]
    return "invalid message: " + "; ".join(parts)


class GuardedHandler(Generic[M]):
    """Wraps a typed handler so a FastStream subscriber can never be crashed by one message."""

    def __init__(
        self,
        *,
        broker: KafkaBroker,
        consumer: str,
        model: type[M],
        handle: Callable[[M], Awaitable[Any]],
        max_attempts: int = 3,
        retry_backoff_s: float = 0.2,
        transient_pause_s: float = 1.0,
    ) -> None:
        self.broker = broker
        self.consumer = consumer
        self.model = model
        self.handle = handle
        self.max_attempts = max_attempts
        self.retry_backoff_s = retry_backoff_s
        self.transient_pause_s = transient_pause_s
        self.dead_lettered = 0

    async def __call__(self, message: KafkaMessage) -> None:
        raw = message.raw_message
        assert not isinstance(raw, tuple), "GuardedHandler serves single-message subscribers"
        headers = {k: v.decode(errors="replace") for k, v in (raw.headers or ())}
        bind_case(correlation_id=headers.get("correlation_id"))
        try:
            try:
                decoded = self.model.model_validate_json(raw.value or b"")
            except ValidationError as exc:
                await self._dead_letter(message, headers, describe_validation_error(exc), "ValidationError", 1)
                return
            complaint_id = getattr(decoded, "complaint_id", None)
            if complaint_id:
                bind_case(complaint_id=str(complaint_id))
            await self._handle_with_retries(message, headers, decoded)
        finally:
            clear_case()

    async def _handle_with_retries(self, message: KafkaMessage, headers: dict[str, str], decoded: M) -> None:
        for attempt in range(1, self.max_attempts + 1):
            try:
                await self.handle(decoded)
                return
            except TRANSIENT_ERRORS as exc:
                # Not the message's fault: pause, then let Kafka redeliver it (nack, no commit).
                log.warning("dependency unavailable, message will be redelivered", error=repr(exc))
                await asyncio.sleep(self.transient_pause_s)
                raise
            except PoisonMessage as exc:
                await self._dead_letter(message, headers, str(exc), "PoisonMessage", attempt)
                return
            except Exception as exc:
                if attempt == self.max_attempts:
                    reason = f"handler failed {attempt} times: {exc!r}"
                    await self._dead_letter(message, headers, reason, type(exc).__name__, attempt)
                    return
                log.warning("handler failed, retrying", attempt=attempt, error=repr(exc))
                await asyncio.sleep(self.retry_backoff_s * attempt)

    async def _dead_letter(
        self, message: KafkaMessage, headers: dict[str, str], reason: str, error_type: str, attempts: int
    ) -> None:
        raw = message.raw_message
        assert not isinstance(raw, tuple)
        dlq_headers = dead_letter_headers(
            original_headers=headers,
            topic=raw.topic,
            partition=raw.partition,
            offset=raw.offset,
            consumer=self.consumer,
            reason=reason,
            error_type=error_type,
            attempts=attempts,
        )
        # Raises if Kafka is down: the message is then nacked and retried, never silently dropped.
        await self.broker.publish(
            raw.value or b"", topic=dead_letter_topic(raw.topic), key=raw.key, headers=dlq_headers
        )
        self.dead_lettered += 1
        log.error(
            "message dead-lettered",
            topic=raw.topic,
            partition=raw.partition,
            offset=raw.offset,
            reason=reason,
            dead_letter_topic=dead_letter_topic(raw.topic),
        )


def raw_decoder(message: KafkaMessage) -> bytes:
    """Keep the body as bytes: the guarded handler decodes it, so a bad body cannot fail in FastStream."""
    return message.body


__all__ = ["GuardedHandler", "PoisonMessage", "raw_decoder"]
