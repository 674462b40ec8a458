"""Composition root of notify: settings, pool, the use cases' context (rules, providers, staff directory), the
door, the request consumer (from `consumers.SUBSCRIPTIONS`), the sending worker, the outbox relay and the HTTP
app. It wires; it neither runs SQL nor commits."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg
from fastapi import FastAPI, Request
from faststream.kafka import KafkaBroker

from services.notify import api, consumers, metrics
from services.notify.door import NotifyDoor
from services.notify.events import PUBLISHED, SERVICE
from services.notify.handlers.context import NotifyContext, StaffResolver
from services.notify.model import QuietHours, Rules
from services.notify.providers import catalog as provider_catalog
from services.notify.repository import NotifyRepository, PostgresNotifyRepository
from services.notify.sending import SendingWorker
from services.notify.settings import NotifySettings
from services.notify.views import NotifyViews
from shared.db import Transactions, transactions
from shared.handling import utc_now
from shared.http.person import PersonTokens
from shared.http.service_app import create_service_app
from shared.kafka.broker import build_broker
from shared.kafka.subscription import subscribe_all
from shared.observability.kafka import LagSampler
from shared.observability.metrics import Sampler
from shared.observability.service import telemetry
from shared.outbox import OutboxRelay, outbox_sampler
from shared.pruning import pruning_worker
from shared.runtime import background_work, close_pool, connect_with_retry
from shared.sla import load_sla_table
from shared.subject_keys import SubjectKeys


def build_notify_broker(settings: NotifySettings, door: Callable[[], NotifyDoor]) -> KafkaBroker:
    broker = build_broker(
        settings.kafka_bootstrap_servers, client_id=SERVICE, metrics=settings.metrics_enabled, security=settings
    )
    subscribe_all(broker, settings, consumers.SUBSCRIPTIONS, door, group_prefix=settings.notify_consumer_group)
    for topic, schema, description in PUBLISHED:
        broker.publisher(topic, schema=schema, title=topic, description=description)
    return broker


def staff_directory() -> StaffResolver | None:
    """The configured staff directory (`directory.py`: the rota and staff list, or a directory file); imported
    here only, so the rest of notify depends on the interface alone."""
    try:
        from services.notify import directory
    except ModuleNotFoundError as exc:
        if exc.name != "services.notify.directory":
            raise
        return None
    return directory.build(directory.Settings())


def rules_from(settings: NotifySettings, timezone: ZoneInfo) -> Rules:
    return Rules(
        daily_cap=settings.notify_daily_cap,
        number_limit=settings.notify_number_daily_limit,
        quiet=QuietHours.parse(settings.notify_quiet_hours, timezone),
        retry_base_s=settings.notify_retry_base_s,
        retry_max_s=settings.notify_retry_max_s,
        max_attempts=settings.notify_max_attempts,
    )


def samplers(pool: asyncpg.Pool, broker: KafkaBroker, views: NotifyViews, settings: NotifySettings) -> list[Sampler]:
    """What Prometheus reads when it scrapes: the outbox, the consumer lag, the sending queue."""

    async def queue_depth() -> metrics.Depth:
        depth = await views.queue()
        return depth.due, depth.waiting, depth.in_doubt, depth.oldest_due_s

    return [outbox_sampler(pool, SERVICE), LagSampler(broker, settings), metrics.queue_sampler(queue_depth)]


def notify_lifespan(
    settings: NotifySettings,
    *,
    clock: Callable[[], datetime],
    catalog: provider_catalog.Catalog | None,
    directory: StaffResolver | None,
    draw: Callable[[], float] | None,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """What runs while the app serves: the pool, the door with the use cases' context, the request consumer, the
    sending worker and the outbox relay; closed in reverse when it stops."""
    timezone = ZoneInfo(load_sla_table().config.timezone)
    rules = rules_from(settings, timezone)
    worker_name = f"{socket.gethostname()}:{os.getpid()}:{id(settings):x}"

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        providers = catalog or provider_catalog.load(settings.notify_sms_provider)
        staff = directory if directory is not None else staff_directory()
        pool = await connect_with_retry(settings)
        app.state.pool = pool  # the shared rate limits sync through it (`shared.http.rate_counts`)
        work: Transactions[NotifyRepository] = transactions(pool, PostgresNotifyRepository)
        context = NotifyContext(
            rules,
            providers,
            staff,
            timezone,
            settings.notify_lease_s,
            keys=SubjectKeys(pool),
            **({"draw": draw} if draw else {}),
        )
        due = asyncio.Event()
        door = NotifyDoor(work, context, clock=clock, wake=due.set)
        sender = SendingWorker(
            door,
            due,
            name=worker_name,
            concurrency=settings.notify_concurrency,
            poll_interval=settings.notify_poll_ms / 1000,
            send_timeout=settings.notify_send_timeout_s,
        )
        views = NotifyViews(work, clock)
        app.state.door, app.state.views, app.state.catalog, app.state.sender = door, views, providers, sender
        app.state.broker = broker = build_notify_broker(settings, lambda: app.state.door)
        relay = OutboxRelay(
            pool, SERVICE, settings.kafka_bootstrap_servers, batch_size=settings.outbox_batch_size, security=settings
        )
        app.state.metric_samplers = samplers(pool, broker, views, settings)
        pruning = pruning_worker(pool, SERVICE)  # marks and keys past their horizon
        try:
            async with background_work(SERVICE, broker, app.state.kafka, relay.run, pruning, sender.run):
                yield
        finally:
            await close_pool(pool)
            if catalog is None:
                await providers.aclose()
            close = getattr(staff, "aclose", None)
            if directory is None and close is not None:
                await close()

    return lifespan


def create_app(
    settings: NotifySettings,
    *,
    clock: Callable[[], datetime] | None = None,
    persons: PersonTokens | None = None,
    catalog: provider_catalog.Catalog | None = None,
    directory: StaffResolver | None = None,
    draw: Callable[[], float] | None = None,
) -> FastAPI:
    """The HTTP app and its workers. Tests hand in their own clock, token verifier, providers (`catalog`),
    staff directory and jitter draw; otherwise each is built from the settings and the environment."""
    observed = telemetry(SERVICE, settings, metrics.count_committed)

    async def readiness(request: Request) -> dict[str, object]:
        return {"kafka": request.app.state.kafka["kafka"], **await request.app.state.views.health()}

    app = create_service_app(
        title="Utility complaints — notify",
        description="Delivers every message (SMS, WeChat, email, the console inbox) with retries, fallback and "
        "delivery receipts; one delivery per notification id.",
        lifespan=notify_lifespan(settings, clock=clock or utc_now, catalog=catalog, directory=directory, draw=draw),
        readiness=readiness,
        metrics=observed.metrics,
        tracing=observed.tracing,
        max_body_bytes=512 * 1024,
        raw_body_paths=(api.RECEIPTS_PATH,),  # vendors post XML, forms or JSON as they please: the parser checks
        rate_limit_schema="notify",  # writes per credential shared by the replicas
    )
    app.state.settings = settings
    app.state.persons = persons or PersonTokens.configured(settings)
    app.state.kafka = {"kafka": "starting"}
    app.include_router(api.router)
    app.include_router(api.dev)
    api.install_receipt_refusals(app)
    return app
