"""The FastStream Kafka broker every service builds, with the platform's defaults."""

from __future__ import annotations

import logging

from faststream.kafka import KafkaBroker
from faststream.middlewares import AckPolicy

#: Commit only after the handler returned (its transaction committed); redeliver on unhandled error.
AT_LEAST_ONCE = AckPolicy.NACK_ON_ERROR


def build_broker(bootstrap_servers: str, *, client_id: str) -> KafkaBroker:
    """Broker with at-least-once acks, `acks=all` publishes and quiet per-message logging.

    No idempotent producer and no transactions: the embedded Tansu broker lacks them, and every
    consumer dedupes on `event_id` instead.
    """
    return KafkaBroker(
        bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=False,
        ack_policy=AT_LEAST_ONCE,
        request_timeout_ms=10_000,
        allow_auto_create_topics=False,
        log_level=logging.DEBUG,
        logger=logging.getLogger(f"{client_id}.broker"),
    )
