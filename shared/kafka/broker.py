"""The FastStream Kafka broker every service builds, with the platform's defaults."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType

from faststream.kafka import KafkaBroker
from faststream.middlewares import AckPolicy

from shared.kafka.liveness import CHECK_INTERVAL_S, keep_consuming
from shared.kafka.security import KafkaSecuritySettings, faststream_security
from shared.observability.kafka import broker_middlewares

#: Commit only after the handler returned (its transaction committed); redeliver on unhandled error.
AT_LEAST_ONCE = AckPolicy.NACK_ON_ERROR


class SupervisedKafkaBroker(KafkaBroker):
    """FastStream's Kafka broker, whose subscribers are restarted when their consume loop ends
    (`shared.kafka.liveness.keep_consuming`: FastStream restarts a loop that raised, never one that returned)."""

    #: How often the watchdog looks at the subscribers (a test may shorten it).
    watchdog_interval_s: float = CHECK_INTERVAL_S
    _watchdog: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await super().start()
        if self._watchdog is None or self._watchdog.done():
            watch = keep_consuming(self, self.watchdog_interval_s)
            self._watchdog = asyncio.create_task(watch, name="kafka-subscriber-watchdog")

    async def stop(
        self,
        exc_type: type[BaseException] | None = None,
        exc_val: BaseException | None = None,
        exc_tb: TracebackType | None = None,
    ) -> None:
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog
        await super().stop(exc_type, exc_val, exc_tb)


def build_broker(
    bootstrap_servers: str,
    *,
    client_id: str,
    metrics: bool = True,
    security: KafkaSecuritySettings | None = None,
) -> SupervisedKafkaBroker:
    """Broker with at-least-once acks, idempotent `acks=all` publishes and quiet per-message logging.

    The idempotent producer stops a publish retried after a lost acknowledgement from being written
    twice, and keeps a partition's records in order across those retries. It cannot help when the
    whole publish is repeated (a relay that crashed between Kafka's ack and deleting its outbox row):
    that is why every consumer still dedupes on `event_id`. No transactions: the outbox gives us
    atomicity with the database, which Kafka transactions could not.

    FastStream's Prometheus middleware measures every handler and publish (`metrics`), its OpenTelemetry
    middleware continues the trace of every message when tracing is on (`shared.observability`).

    `security` (a service's settings) authenticates it to the broker; None: the environment's (`shared.kafka.security`).
    A subscriber whose consume loop ended is restarted (`SupervisedKafkaBroker`).
    """
    return SupervisedKafkaBroker(
        bootstrap_servers,
        client_id=client_id,
        security=faststream_security(security),
        acks="all",
        enable_idempotence=True,
        ack_policy=AT_LEAST_ONCE,
        request_timeout_ms=10_000,
        allow_auto_create_topics=False,
        log_level=logging.DEBUG,
        logger=logging.getLogger(f"{client_id}.broker"),
        middlewares=broker_middlewares(client_id, metrics=metrics),
    )
