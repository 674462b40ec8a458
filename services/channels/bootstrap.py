"""Composition root of channels: settings, pool, the use cases' context, the door, the consumers (from
`consumers.SUBSCRIPTIONS`), the background workers (from `workers.WORKERS`), the outbox relay and the HTTP app with
every router of `routes.ROUTERS`. It wires; it neither runs SQL nor commits."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime

import asyncpg
from fastapi import FastAPI, Request
from faststream.kafka import KafkaBroker

from services.channels import consumers, metrics, routes, workers
from services.channels.deps import ChannelsDoor, Running
from services.channels.events import PUBLISHED, SERVICE
from services.channels.handlers.context import ChannelsContext
from services.channels.handlers.operations import outbox_depth
from services.channels.repository import ChannelsRepository, PostgresChannelsRepository
from services.channels.settings import ChannelsSettings
from services.channels.status.limiter import LookupLimits
from shared.db import Transactions, transactions
from shared.handling import Door, utc_now
from shared.http.person import PersonTokens
from shared.http.problems import answer_errors_as
from shared.http.service_app import create_service_app
from shared.kafka.broker import build_broker
from shared.kafka.subscription import subscribe_all
from shared.observability.kafka import LagSampler
from shared.observability.metrics import Sampler
from shared.observability.service import telemetry
from shared.outbox import OutboxRelay, outbox_sampler
from shared.pruning import pruning_worker
from shared.runtime import background_work, close_pool, connect_with_retry
from shared.subject_keys import SubjectKeys

#: The largest request body: protocols' messages are small (WeChat XML, Open311 forms); mail comes over IMAP.
MAX_BODY_BYTES = 1024 * 1024


def build_channels_broker(settings: ChannelsSettings, door: Callable[[], ChannelsDoor]) -> KafkaBroker:
    broker = build_broker(
        settings.kafka_bootstrap_servers, client_id=SERVICE, metrics=settings.metrics_enabled, security=settings
    )
    subscribe_all(broker, settings, consumers.SUBSCRIPTIONS, door, group_prefix=settings.channels_consumer_group)
    for topic, schema, description in PUBLISHED:
        broker.publisher(topic, schema=schema, title=topic, description=description)
    return broker


def samplers(pool: asyncpg.Pool, broker: KafkaBroker, settings: ChannelsSettings) -> list[Sampler]:
    """What Prometheus reads when it scrapes: the outbox and the consumer lag."""
    return [outbox_sampler(pool, SERVICE), LagSampler(broker, settings)]


def channels_lifespan(
    settings: ChannelsSettings, *, clock: Callable[[], datetime]
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """What runs while the app serves: the pool, the door, the consumers, the workers and the outbox relay; closed
    in reverse when it stops."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await connect_with_retry(settings)
        app.state.pool = pool  # the shared rate limits sync through it (`shared.http.rate_counts`)
        work: Transactions[ChannelsRepository] = transactions(pool, PostgresChannelsRepository)
        door: ChannelsDoor = Door(work, ChannelsContext.from_settings(settings, SubjectKeys(pool)), clock=clock)
        app.state.door = door
        app.state.broker = broker = build_channels_broker(settings, lambda: app.state.door)
        relay = OutboxRelay(
            pool, SERVICE, settings.kafka_bootstrap_servers, batch_size=settings.outbox_batch_size, security=settings
        )
        app.state.metric_samplers = samplers(pool, broker, settings)
        running = workers.started(Running(settings, door, clock))
        pruning = pruning_worker(pool, SERVICE)  # marks and keys past their horizon
        try:
            async with background_work(SERVICE, broker, app.state.kafka, relay.run, pruning, *running):
                yield
        finally:
            await close_pool(pool)

    return lifespan


def create_app(
    settings: ChannelsSettings,
    *,
    clock: Callable[[], datetime] | None = None,
    persons: PersonTokens | None = None,
) -> FastAPI:
    """The HTTP app and its workers. Tests hand in their own clock and token verifier; otherwise each is built
    from the settings."""
    observed = telemetry(SERVICE, settings, metrics.count_committed)

    async def readiness(request: Request) -> dict[str, object]:
        pending = await request.app.state.door.run(outbox_depth, None)
        return {"kafka": request.app.state.kafka["kafka"], "outbox_pending": pending}

    app = create_service_app(
        title="Utility complaints — channels",
        description="Where every external protocol ends: WeChat, the complaints mailbox, SMS replies, the hotlines' "
        "pushes, Open311 and the customer's status page. Each raw message is stored once per provider's id and "
        "handed to intake as a complaint or a reply.",
        lifespan=channels_lifespan(settings, clock=clock or utc_now),
        readiness=readiness,
        metrics=observed.metrics,
        tracing=observed.tracing,
        max_body_bytes=MAX_BODY_BYTES,
        raw_body_paths=routes.RAW_BODY_PATHS,
        upload_paths=routes.UPLOAD_PATHS,
        rate_limit_schema="channels",  # writes per credential and the status page's limits, shared by the replicas
    )
    app.state.settings = settings
    app.state.persons = persons or PersonTokens.configured(settings)
    app.state.clock = clock or utc_now
    app.state.kafka = {"kafka": "starting"}
    for router in routes.ROUTERS:
        app.include_router(router)
    for prefix, render in routes.ERROR_FORMATS:
        answer_errors_as(app, prefix, render)
    app_clock = app.state.clock
    app.state.status_limits = LookupLimits(
        lambda: app_clock().timestamp(),
        counts=app.state.rate_counts,  # synced with the other replicas by the app's lifespan
        secret=settings.channels_contact_hash_key,
        per_client=settings.channels_status_lookups_per_minute,
        failures=settings.channels_status_failures_per_hour,
    )
    return app
