"""Transactional outbox: events are rows written in the handler's transaction, published by a relay.

Why: a handler must never write its state and then fail to publish (or publish and then roll back).
The relay claims rows with `FOR UPDATE SKIP LOCKED`, so several relays (one per replica) share the
work without publishing a row twice at the same time; it is woken by `LISTEN/NOTIFY` on commit and
polls as a fallback. A row is deleted only after Kafka acknowledged it, so a crash between the ack
and the delete republishes it: delivery is at-least-once and every consumer dedupes on `event_id`.
Ordering: a key's rows are published in id order whatever the number of relays: a relay takes a key only with
its advisory lock (`_CLAIM`), so while one holds a complaint's event no other publishes that complaint's later ones.

Operators see it: every event written is noted for the service's process metrics (counted once its
transaction committed, `shared.observability.committed`), the relay counts what Kafka acknowledged and what
it did not, and the service samples the rows waiting and the oldest one's age at scrape time
(`outbox_sampler`). With tracing on, a row keeps the trace context it was written in, and the relay's
publish span continues it into the Kafka headers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from opentelemetry import trace

from shared.contracts.envelope import Event
from shared.db import json_text
from shared.kafka.security import KafkaSecuritySettings, client_options
from shared.logging import get_logger
from shared.observability import committed, tracing
from shared.observability.metrics import (
    OUTBOX_FAILURES,
    OUTBOX_OLDEST_AGE,
    OUTBOX_PUBLISHED,
    OUTBOX_RELAY_ERRORS,
    OUTBOX_WAITING,
    Sampler,
)

log = get_logger(__name__)


def notify_channel(schema: str) -> str:
    return f"outbox_{schema}"


async def add(conn: asyncpg.Connection, schema: str, events: Iterable[Event]) -> int:
    """Write events to the outbox inside the caller's transaction, and notify the relay (on commit): one statement,
    one round trip, for any number of events.

    The rows go in as one array per column, inserted in the events' order (`WITH ORDINALITY`), so their ids, the
    order the relay publishes in, follow it as one INSERT per row did. The NOTIFY rides in the same statement, once:
    the door writes a unit's events in one call, so a transaction notifies once (Postgres would fold a repeated
    notification on one channel within a transaction into one anyway)."""
    events = list(events)
    if not events:
        return 0
    await conn.execute(
        f'WITH written AS (INSERT INTO "{schema}".outbox (event_id, topic, key, payload, headers) '
        "SELECT event_id, topic, key, payload, headers::jsonb "
        "FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bytea[], $5::text[]) WITH ORDINALITY "
        "AS e (event_id, topic, key, payload, headers, n) ORDER BY n) "
        "SELECT pg_notify($6, '')",
        [e.event_id for e in events],
        [e.topic for e in events],
        [str(e.complaint_id) for e in events],
        [e.model_dump_json().encode() for e in events],
        [json_text(e.headers() | tracing.headers_for(str(e.complaint_id))) for e in events],
        notify_channel(schema),
    )
    committed.note(events)
    return len(events)


def outbox_sampler(pool: asyncpg.Pool, schema: str) -> Sampler:
    """Rows waiting and the oldest one's age, read when Prometheus scrapes (the relay deletes what Kafka
    acknowledged, so the table is the backlog)."""

    async def sample_outbox() -> None:
        row = await pool.fetchrow(
            f"SELECT count(*) AS waiting, coalesce(extract(epoch FROM now() - min(created_at)), 0) AS oldest "
            f'FROM "{schema}".outbox'
        )
        assert row is not None
        OUTBOX_WAITING.labels(schema).set(row["waiting"])
        OUTBOX_OLDEST_AGE.labels(schema).set(max(0.0, float(row["oldest"])))

    return sample_outbox


def build_producer(
    bootstrap_servers: str, security: KafkaSecuritySettings | None = None, **overrides: Any
) -> AIOKafkaProducer:
    """Producer settings for the relay: idempotent, every in-sync replica acks (acks=all), short
    timeouts so an outage is noticed and retried instead of hanging a transaction.

    Idempotence makes the producer's own retries exactly-once per partition; a batch the relay sends
    again after a crash is a new publish and is deduplicated by consumers on `event_id`."""
    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers,
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 2,
        "request_timeout_ms": 5000,
        "retry_backoff_ms": 200,
        "max_batch_size": 256 * 1024,
        "client_id": "outbox-relay",
        **client_options(security),
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


def _kafka_headers(stored: dict[str, Any], span: trace.Span | None) -> list[tuple[str, bytes]]:
    """The row's headers for Kafka; with a publish span, its context replaces the one stored with the row."""
    headers = dict(stored)
    if span is not None:
        headers.update(tracing.inject(trace.set_span_in_context(span)))
    return [(k, str(v).encode()) for k, v in headers.items()]


#: A relay's batch: the oldest rows no other relay holds, and only of keys no other relay is publishing. Each key is
#: taken with a transaction-scoped advisory lock (per schema and key hash; `try`, so a relay never waits), held until
#: the batch's rows are deleted: a second relay skips every row of a key the first holds, not only the rows it
#: locked, so a complaint's later events cannot overtake the one a stalled relay holds (issue 26).
#:
#: The locks are tried on the `CLAIM_WINDOW` batches of oldest rows only, in id order, until a batch is taken. Why:
#: tried in the WHERE clause of the table's own scan, they were taken for every row the plan read. With an index scan
#: that was the batch; with a sequential scan and a sort (the plan Postgres picks for an outbox its statistics call
#: small, e.g. a backlog that grew during a Kafka outage) it was every key of the table, and every other relay found
#: nothing to take (measured: 3,000 rows, the first relay took 500 and held 3,000 locks; the second took none).
_CLAIM = """WITH oldest AS MATERIALIZED (SELECT id, key FROM "{schema}".outbox ORDER BY id LIMIT $1::int * $2::int)
SELECT id, topic, key, payload, headers FROM "{schema}".outbox
WHERE id = ANY(ARRAY(
    SELECT id FROM oldest WHERE pg_try_advisory_xact_lock(hashtext('outbox {schema}'), hashtext(key)) LIMIT $1::int
))
ORDER BY id FOR UPDATE SKIP LOCKED"""
#: How many batches of the oldest rows a claim looks at: room for the batches of three other relays.
CLAIM_WINDOW = 4


class OutboxRelay:
    """Publishes one service's outbox to Kafka in batches until stopped."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        schema: str,
        bootstrap_servers: str,
        *,
        batch_size: int = 500,
        poll_interval: float = 1.0,
        max_backoff: float = 5.0,
        security: KafkaSecuritySettings | None = None,
    ) -> None:
        self.pool = pool
        #: The service's principal (its settings); None: the environment's (`shared.kafka.security`).
        self.security = security
        self.schema = schema
        self.bootstrap_servers = bootstrap_servers
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.max_backoff = max_backoff
        self.published = 0
        self._wake = asyncio.Event()
        self._producer: AIOKafkaProducer | None = None
        self._listener: asyncpg.pool.PoolConnectionProxy | None = None  # held out of the pool while listening

    @property
    def connected(self) -> bool:
        """Its producer and its LISTEN connection are up: rows committed from now on wake it at once."""
        return self._producer is not None and self._listener is not None

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 0.2
        try:
            while not stop.is_set():
                try:
                    await self._ensure_listener()
                    await self._ensure_producer()
                    count = await self.publish_batch()
                    backoff = 0.2
                    if count >= self.batch_size:
                        continue  # more is waiting: no pause
                    await self._sleep_until_woken(stop, self.poll_interval)
                except (
                    OSError,
                    KafkaError,
                    asyncpg.PostgresError,
                    asyncpg.InterfaceError,
                    asyncpg.InternalClientError,  # a pooled connection caught mid-operation by a restart
                    TimeoutError,
                ) as exc:
                    OUTBOX_RELAY_ERRORS.labels(self.schema).inc()
                    log.warning("outbox relay cannot publish, retrying", error=repr(exc), backoff_s=backoff)
                    await self._reset_producer()
                    await self._sleep_until_woken(stop, backoff, wakeable=False)
                    backoff = min(backoff * 2, self.max_backoff)
        finally:
            await self._reset_producer()
            await self._close_listener()

    async def publish_batch(self) -> int:
        """Claim up to `batch_size` rows, publish them, delete what Kafka acknowledged."""
        assert self._producer is not None
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(_CLAIM.format(schema=self.schema), self.batch_size, CLAIM_WINDOW)
            if not rows:
                return 0
            spans = self._publish_spans(rows) if tracing.enabled() else None
            try:
                futures = [
                    await self._producer.send(
                        r["topic"],
                        value=bytes(r["payload"]),
                        key=r["key"].encode(),
                        headers=_kafka_headers(r["headers"], spans[i] if spans else None),
                    )
                    for i, r in enumerate(rows)
                ]
                results = await asyncio.gather(*futures, return_exceptions=True)
            finally:
                for span in spans or ():
                    span.end()
            done = [r["id"] for r, res in zip(rows, results, strict=True) if not isinstance(res, BaseException)]
            failed = [
                (r["id"], repr(res)) for r, res in zip(rows, results, strict=True) if isinstance(res, BaseException)
            ]
            if done:
                await conn.execute(f'DELETE FROM "{self.schema}".outbox WHERE id = ANY($1::bigint[])', done)
            if failed:
                await conn.executemany(
                    f'UPDATE "{self.schema}".outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1',
                    failed,
                )
        self.published += len(done)
        OUTBOX_PUBLISHED.labels(self.schema).inc(len(done))
        if failed:
            OUTBOX_FAILURES.labels(self.schema).inc(len(failed))
            raise KafkaError(f"{len(failed)} of {len(rows)} outbox events not acknowledged: {failed[0][1]}")
        return len(rows)

    def _publish_spans(self, rows: list[asyncpg.Record]) -> list[trace.Span]:
        """One producer span per row, continuing the trace the row was written in."""
        tracer = tracing.tracer()
        return [
            tracer.start_span(
                f"{r['topic']} publish",
                context=tracing.extract(r["headers"]),
                kind=trace.SpanKind.PRODUCER,
                attributes={
                    tracing.SERVICE_ATTRIBUTE: self.schema,
                    "messaging.system": "kafka",
                    "messaging.destination.name": r["topic"],
                    "messaging.operation.type": "send",
                    tracing.COMPLAINT_ATTRIBUTE: r["key"],
                },
            )
            for r in rows
        ]

    async def _sleep_until_woken(self, stop: asyncio.Event, seconds: float, *, wakeable: bool = True) -> None:
        waiters = [asyncio.ensure_future(stop.wait())]
        if wakeable:
            waiters.append(asyncio.ensure_future(self._wake.wait()))
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()
        self._wake.clear()

    async def _ensure_producer(self) -> None:
        if self._producer is None:
            producer = build_producer(self.bootstrap_servers, self.security)
            try:
                await producer.start()
            except BaseException:
                with contextlib.suppress(Exception):
                    await producer.stop()
                raise
            self._producer = producer

    async def _reset_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), timeout=5)

    async def _ensure_listener(self) -> None:
        if self._listener is not None:
            try:
                closed = self._listener.is_closed()
            except asyncpg.InterfaceError:  # the pool already took the lost connection back
                self._listener, closed = None, True
            if not closed:
                return
            await self._close_listener()  # Postgres restarted: listen again on a fresh connection
        conn = await self.pool.acquire()
        await conn.add_listener(notify_channel(self.schema), self._on_notify)
        self._listener = conn

    async def _close_listener(self) -> None:
        conn, self._listener = self._listener, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.remove_listener(notify_channel(self.schema), self._on_notify)
            with contextlib.suppress(Exception):
                await self.pool.release(conn)

    def _on_notify(self, *_: object) -> None:
        self._wake.set()
