"""Composition root of followup: settings, pool, SLA table, notifier, the door with followup's context, the Kafka
subscriptions (one table, `consumers.py`), timer worker, outbox relay and the HTTP app. It wires; it neither runs
SQL nor commits (the door does, `shared.handling`)."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
from fastapi import FastAPI, Request
from faststream.kafka import KafkaBroker

from services.followup import api, consumers, duty_api, escalation_api, metrics
from services.followup.events import PUBLISHED, SERVICE
from services.followup.handlers.context import FollowupContext, FollowupDoor
from services.followup.model import CallbackPolicy
from services.followup.notifications import Notifier, Templates
from services.followup.repository import FollowupRepository, PostgresFollowupRepository, timer_backlog
from services.followup.repository.contact_reads import PostgresContactReadLog
from services.followup.settings import FollowupSettings
from services.followup.sla_clocks import ClockRules
from services.followup.timers import TimerWorker
from services.followup.views import FollowupViews
from shared.db import Transactions, transactions
from shared.handling import Door, utc_now
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
from shared.sla import SlaTable, load_sla_table
from shared.subject_keys import SubjectKeys


def build_followup_broker(settings: FollowupSettings, door: Callable[[], FollowupDoor]) -> KafkaBroker:
    """Followup's Kafka side: its subscriptions (the `consumers.SUBSCRIPTIONS` table, each through the door), and
    the topics it publishes (for AsyncAPI)."""
    broker = build_broker(
        settings.kafka_bootstrap_servers, client_id=SERVICE, metrics=settings.metrics_enabled, security=settings
    )
    subscribe_all(broker, settings, consumers.SUBSCRIPTIONS, door, group_prefix=settings.followup_consumer_group)
    # Published through the outbox relay; declared here so AsyncAPI documents them.
    for topic, schema, description in PUBLISHED:
        broker.publisher(topic, schema=schema, title=topic, description=description)
    return broker


def with_keys(context: FollowupContext, keys: SubjectKeys) -> FollowupContext:
    """The context with customers' keys (the pool's): contacts open with them, messages to customers seal with them."""
    return replace(context, keys=keys, notifier=replace(context.notifier, keys=keys))


def _timer_worker(settings: FollowupSettings, pool: asyncpg.Pool, door: FollowupDoor) -> TimerWorker:
    """The timer worker of this process, named for its host and pid (the claims it holds say whose they are)."""
    return TimerWorker(
        pool,
        door,
        name=f"{socket.gethostname()}:{os.getpid()}",
        batch_size=settings.timer_batch_size,
        poll_interval=settings.timer_poll_ms / 1000,
    )


def _notifier(settings: FollowupSettings, sla: SlaTable) -> Notifier:
    """The messages' wording, language, time zone and customer horizon (`FOLLOWUP_CUSTOMER_MESSAGE_HORIZON_HOURS`)."""
    hours = settings.followup_customer_message_horizon_hours
    horizon = timedelta(hours=hours) if hours else None
    return Notifier(Templates(), settings.notification_locale, ZoneInfo(sla.config.timezone), customer_horizon=horizon)


def samplers(pool: asyncpg.Pool, broker: KafkaBroker, settings: FollowupSettings) -> list[Sampler]:
    """What Prometheus reads when it scrapes: the outbox, the consumer lag, the timers' backlog."""
    return [
        outbox_sampler(pool, SERVICE),
        LagSampler(broker, settings),
        metrics.timers_sampler(lambda: timer_backlog(pool)),
    ]


def create_app(
    settings: FollowupSettings, *, clock: Callable[[], datetime] | None = None, persons: PersonTokens | None = None
) -> FastAPI:
    """The HTTP app and its workers; `persons` verifies staff tokens (tests hand in their own; else built from the
    settings)."""
    sla = load_sla_table()
    observed = telemetry(SERVICE, settings, metrics.count_committed)
    clocks = ClockRules(sla, time_scale=settings.sla_time_scale)
    notifier = _notifier(settings, sla)
    callbacks = CallbackPolicy(
        max_attempts=settings.callback_max_attempts,
        retry_interval=settings.callback_retry_interval * settings.sla_time_scale,
    )
    context = FollowupContext(clocks=clocks, notifier=notifier, callbacks=callbacks)
    now = clock or utc_now

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await connect_with_retry(settings)
        app.state.pool = pool  # the Idempotency-Key table's
        work: Transactions[FollowupRepository] = transactions(pool, PostgresFollowupRepository)
        door: FollowupDoor = Door(work, with_keys(context, SubjectKeys(pool)), clock=now)
        app.state.door = door
        app.state.views = FollowupViews(work, now)
        # Who was shown whose contact (`handlers.contact_reads`): its own door, its own table.
        app.state.contact_reads = Door(transactions(pool, PostgresContactReadLog), None, clock=now)
        app.state.broker = broker = build_followup_broker(settings, lambda: door)
        worker = _timer_worker(settings, pool, door)
        relay = OutboxRelay(
            pool, SERVICE, settings.kafka_bootstrap_servers, batch_size=settings.outbox_batch_size, security=settings
        )
        app.state.metric_samplers = samplers(pool, broker, settings)
        pruning = pruning_worker(pool, SERVICE)  # marks and keys past their horizon
        try:
            async with background_work(SERVICE, broker, app.state.kafka, relay.run, pruning, worker.run):
                yield
        finally:
            await close_pool(pool)

    async def readiness(request: Request) -> dict[str, object]:
        return {"kafka": request.app.state.kafka["kafka"], **await request.app.state.views.health()}

    app = create_service_app(
        title="Utility complaints — followup",
        description="Callback worklist and outcomes for agents; SLA clocks and escalations of each case.",
        lifespan=lifespan,
        readiness=readiness,
        metrics=observed.metrics,
        tracing=observed.tracing,
        # A retried POST with the same Idempotency-Key (a callback outcome, a corrective action) has one effect.
        idempotency_schema="followup",
    )
    app.state.settings = settings
    app.state.persons = persons or PersonTokens.configured(settings)
    app.state.kafka = {"kafka": "starting"}
    _include_routes(app)
    return app


def _include_routes(app: FastAPI) -> None:
    """Followup's HTTP routes: callbacks and clocks (`api`), escalations' answer step (`escalation_api`), the duty
    manager's calls (`duty_api`)."""
    app.include_router(api.router)
    app.include_router(escalation_api.router)
    app.include_router(duty_api.router)
