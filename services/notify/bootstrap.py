"""Composition root of notify: settings, pool, rules, providers, staff directory, handlers, the request consumer,
the sending worker, the outbox relay and the HTTP app. It wires; it neither runs SQL nor commits."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from faststream.kafka import KafkaBroker

from services.notify import api, consumers, metrics
from services.notify.events import PUBLISHED, SERVICE
from services.notify.handlers import NotifyHandlers, StaffResolver, utc_now
from services.notify.model import QuietHours, Rules
from services.notify.providers import catalog as provider_catalog
from services.notify.repository import NotifyRepository, PostgresNotifyRepository
from services.notify.sending import SendingWorker
from services.notify.settings import NotifySettings
from services.notify.views import NotifyViews
from shared.db import Transactions, transactions
from shared.http.person import PersonTokens
from shared.http.service_app import create_service_app
from shared.kafka.broker import build_broker
from shared.kafka.subscription import subscribe
from shared.observability.kafka import lag_sampler
from shared.observability.service import telemetry
from shared.outbox import OutboxRelay, outbox_sampler
from shared.runtime import background_work, connect_with_retry
from shared.sla import load_sla_table


def build_notify_broker(settings: NotifySettings, handlers: Callable[[], NotifyHandlers]) -> KafkaBroker:
    broker = build_broker(settings.kafka_bootstrap_servers, client_id=SERVICE, metrics=settings.metrics_enabled)

    async def on_requests(batch: list[Any]) -> None:
        await handlers().on_requests(batch, consumer=consumers.REQUESTS.consumer)

    subscribe(broker, settings, consumers.REQUESTS, on_requests, group_prefix=settings.notify_consumer_group)
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
        quiet=QuietHours.parse(settings.notify_quiet_hours, timezone),
        retry_base_s=settings.notify_retry_base_s,
        retry_max_s=settings.notify_retry_max_s,
        max_attempts=settings.notify_max_attempts,
    )


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
    timezone = ZoneInfo(load_sla_table().config.timezone)
    observed = telemetry(SERVICE, settings, metrics.count_committed)
    rules = rules_from(settings, timezone)
    now = clock or utc_now
    worker_name = f"{socket.gethostname()}:{os.getpid()}:{id(settings):x}"

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        providers = catalog or provider_catalog.load(settings.notify_sms_provider)
        staff = directory if directory is not None else staff_directory()
        pool = await connect_with_retry(settings)
        work: Transactions[NotifyRepository] = transactions(pool, PostgresNotifyRepository)
        sender = SendingWorker(
            work,
            providers.providers,
            rules,
            name=worker_name,
            clock=now,
            concurrency=settings.notify_concurrency,
            poll_interval=settings.notify_poll_ms / 1000,
            send_timeout=settings.notify_send_timeout_s,
            lease_s=settings.notify_lease_s,
            **({"draw": draw} if draw else {}),
        )
        handlers = NotifyHandlers(
            work,
            rules=rules,
            channels=providers.channels,
            directory=staff,
            timezone=timezone,
            clock=now,
            wake=sender.wake,
        )
        views = NotifyViews(work, now)
        app.state.handlers, app.state.views, app.state.catalog, app.state.sender = handlers, views, providers, sender
        broker = build_notify_broker(settings, lambda: handlers)
        relay = OutboxRelay(pool, SERVICE, settings.kafka_bootstrap_servers, batch_size=settings.outbox_batch_size)

        async def queue_depth() -> metrics.Depth:
            depth = await views.queue()
            return depth.due, depth.waiting, depth.in_doubt, depth.oldest_due_s

        app.state.metric_samplers = [
            outbox_sampler(pool, SERVICE),
            lag_sampler(broker),
            metrics.queue_sampler(queue_depth),
        ]
        try:
            async with background_work(SERVICE, broker, app.state.kafka, relay.run, sender.run):
                yield
        finally:
            await pool.close()
            if catalog is None:
                await providers.aclose()
            if directory is None and hasattr(staff, "aclose"):
                await staff.aclose()

    async def readiness(request: Request) -> dict[str, object]:
        return {"kafka": request.app.state.kafka["kafka"], **await request.app.state.views.health()}

    app = create_service_app(
        title="Utility complaints — notify",
        description="Delivers every message (SMS, WeChat, email, the console inbox) with retries, fallback and "
        "delivery receipts; one delivery per notification id.",
        lifespan=lifespan,
        readiness=readiness,
        metrics=observed.metrics,
        tracing=observed.tracing,
        max_body_bytes=512 * 1024,
        raw_body_paths=(api.RECEIPTS_PATH,),  # vendors post XML, forms or JSON as they please: the parser checks
    )
    app.state.settings = settings
    app.state.persons = persons or PersonTokens.configured(settings)
    app.state.kafka = {"kafka": "starting"}
    app.include_router(api.router)
    app.include_router(api.dev)
    return app
