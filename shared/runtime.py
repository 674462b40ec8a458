"""Start-up helpers every service's lifespan uses: a database pool that waits for Postgres, and a
Kafka broker started in the background so HTTP serves (and the outbox fills) while Kafka is down."""

from __future__ import annotations

import asyncio
import contextlib
import time

import asyncpg
from faststream.kafka import KafkaBroker

from shared.db import create_pool
from shared.logging import get_logger
from shared.settings import ServiceSettings

log = get_logger(__name__)


async def connect_with_retry(settings: ServiceSettings, deadline_s: float = 60) -> asyncpg.Pool:
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            return await create_pool(
                settings.database_url, min_size=settings.database_pool_min, max_size=settings.database_pool_max
            )
        except (OSError, asyncpg.PostgresError) as exc:
            if time.monotonic() > deadline:
                raise
            log.warning("database not reachable yet", error=repr(exc))
            await asyncio.sleep(1)


async def run_broker(broker: KafkaBroker, stop: asyncio.Event, state: dict[str, str]) -> None:
    """Start the Kafka consumers, retrying while the broker is down; `state["kafka"]` says how it went."""
    backoff = 0.5
    while not stop.is_set():
        try:
            await broker.start()
            state["kafka"] = "connected"
            log.info("kafka consumers started")
            return
        except Exception as exc:
            state["kafka"] = "unavailable"
            log.warning("kafka not reachable yet, retrying", error=repr(exc))
            with contextlib.suppress(Exception):
                await broker.stop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=backoff)
            backoff = min(backoff * 2, 10)
