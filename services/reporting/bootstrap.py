"""Composition root of reporting: pool, the door (`shared.handling.Door`) its consumers project through, their
subscriptions (one table: `consumers.SUBSCRIPTIONS`), the report views, HTTP and the dashboard."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from faststream.kafka import KafkaBroker

from services.reporting import api, consumers, metrics
from services.reporting.handlers import ReportingContext
from services.reporting.repository import ProjectionStore, ReadModels
from services.reporting.repository.access_log import PostgresReadAccessLog
from services.reporting.settings import ReportingSettings
from services.reporting.views import ReportViews
from shared.db import snapshots, transactions
from shared.handling import Door, utc_now
from shared.http.person import PersonTokens
from shared.http.service_app import create_service_app
from shared.kafka.broker import build_broker
from shared.kafka.subscription import subscribe_all
from shared.observability import committed
from shared.observability.kafka import LagSampler
from shared.observability.service import telemetry
from shared.runtime import background_work, close_pool, connect_with_retry
from shared.subject_keys import SubjectKeys

SERVICE = "reporting"


def build_reporting_broker(
    settings: ReportingSettings, door: Callable[[], Door[ProjectionStore, ReportingContext]]
) -> KafkaBroker:
    """Reporting's Kafka side: its subscriptions (`consumers.SUBSCRIPTIONS`: the platform's events, and the delivery
    reports in a group of their own), each batch projected through `door()` (built once the pool is open)."""
    broker = build_broker(
        settings.kafka_bootstrap_servers, client_id=SERVICE, metrics=settings.metrics_enabled, security=settings
    )
    guards = subscribe_all(
        broker, settings, consumers.SUBSCRIPTIONS, door, group_prefix=settings.reporting_consumer_group
    )
    broker.guard = guards[consumers.READ_MODELS.consumer]  # type: ignore[attr-defined]  # exposed for health and tests
    return broker


def create_app(
    settings: ReportingSettings, *, clock: Callable[[], datetime] | None = None, persons: PersonTokens | None = None
) -> FastAPI:
    """The HTTP app and the read-model subscriber; `persons` verifies staff tokens (tests hand in their own; else
    built from the settings)."""
    timezone = ZoneInfo(settings.timezone)
    observed = telemetry(SERVICE, settings)
    # Not through `telemetry`: the consumers' counts also feed readiness (`app.state.stats`), metrics on or off.
    committed.observe(metrics.count_committed)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await connect_with_retry(settings)
        app.state.pool = pool
        door: Door[ProjectionStore, ReportingContext] = Door(
            transactions(pool, ReadModels),
            ReportingContext(timezone, app.state.stats, SubjectKeys(pool)),
            clock=clock or utc_now,
        )
        app.state.door = door
        app.state.reports = ReportViews(
            queries=ReadModels(pool),
            snapshots=snapshots(pool, ReadModels),
            clock=clock or (lambda: datetime.now(UTC)),
            timezone=timezone,
            contact_roles=frozenset(settings.reporting_contact_roles),
            hotspot_rules=settings.hotspot_rules,
            contact_export_roles=frozenset(settings.reporting_contact_export_roles),
        )
        app.state.access_log = Door(transactions(pool, PostgresReadAccessLog), None, clock=clock or utc_now)
        app.state.broker = broker = build_reporting_broker(settings, lambda: app.state.door)
        app.state.metric_samplers = [LagSampler(broker, settings), metrics.surge_sampler(app.state.reports, settings)]
        try:
            async with background_work(SERVICE, broker, app.state.kafka):
                yield
        finally:
            await close_pool(pool)

    async def readiness(request: Request) -> dict[str, object]:
        cases = await ReadModels(request.app.state.pool).count_cases()
        return {"kafka": request.app.state.kafka["kafka"], "cases": cases, **request.app.state.stats}

    app = create_service_app(
        title="Utility complaints — reporting",
        description="Case timelines, household archives, queues, KPIs, hotspots, surges and CSV exports.",
        lifespan=lifespan,
        readiness=readiness,
        metrics=observed.metrics,
        tracing=observed.tracing,
        rate_limit_schema="reporting",  # writes per credential shared by the replicas
    )
    app.state.settings = settings
    app.state.persons = persons or PersonTokens.configured(settings)
    app.state.kafka = {"kafka": "starting"}
    app.state.stats = {"events_seen": 0, "events_projected": 0}
    app.include_router(api.router)
    app.include_router(api.front)

    return app
