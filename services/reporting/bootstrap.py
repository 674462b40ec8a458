"""Composition root of reporting: pool, projector, the batch subscriber over every topic, HTTP + dashboard."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from services.reporting import api
from services.reporting.consumption import READ_TOPICS, AnyEvent, incoming
from services.reporting.projection import Projector
from services.reporting.settings import ReportingSettings
from shared.db import unit_of_work
from shared.http.service_app import create_service_app
from shared.kafka.broker import build_broker
from shared.kafka.consumer import guarded, raw_decoder
from shared.logging import get_logger
from shared.runtime import background_work, connect_with_retry

log = get_logger(__name__)
SCHEMA = "reporting"
DASHBOARD_DIR = Path(__file__).with_name("dashboard")


def build_reporting_broker(
    settings: ReportingSettings, projector: Projector, pool: Callable[[], Any], stats: dict[str, int]
) -> KafkaBroker:
    broker = build_broker(settings.kafka_bootstrap_servers, client_id=SCHEMA)

    async def project(events: list[Any]) -> None:
        async with unit_of_work(pool()) as uow:
            new = await projector.apply(uow.conn, incoming(events))
            uow.commit()
        stats["events_seen"] += len(events)
        stats["events_projected"] += new

    guard = guarded(broker, settings, "reporting.read-models", AnyEvent, project)

    @broker.subscriber(
        *READ_TOPICS,
        group_id=f"{settings.reporting_consumer_group}.read-models",
        auto_offset_reset="earliest",
        batch=True,
        max_records=settings.reporting_batch_size,
        decoder=raw_decoder,
        title="reporting/read-models",
        description="Every event of the platform into the read models, in batches, idempotently.",
    )
    async def on_events(body: list[bytes], message: KafkaMessage) -> None:
        await guard(message)

    return broker


def create_app(settings: ReportingSettings, *, clock: Callable[[], datetime] | None = None) -> FastAPI:
    timezone = ZoneInfo(settings.timezone)
    projector = Projector(SCHEMA, timezone)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await connect_with_retry(settings)
        app.state.pool = pool
        broker = build_reporting_broker(settings, projector, lambda: pool, app.state.stats)
        try:
            async with background_work(SCHEMA, broker, app.state.kafka):
                yield
        finally:
            await pool.close()

    async def readiness(request: Request) -> dict[str, object]:
        cases = await request.app.state.pool.fetchval("SELECT count(*) FROM reporting.cases")
        return {"kafka": request.app.state.kafka["kafka"], "cases": cases, **request.app.state.stats}

    app = create_service_app(
        title="Utility complaints — reporting",
        description="Case timelines, household archives, queues, KPIs, hotspots, CSV exports and the dashboard.",
        lifespan=lifespan,
        readiness=readiness,
    )
    app.state.settings = settings
    app.state.schema = SCHEMA
    app.state.timezone = timezone
    app.state.clock = clock or (lambda: datetime.now(UTC))
    app.state.kafka = {"kafka": "starting"}
    app.state.stats = {"events_seen": 0, "events_projected": 0}
    app.include_router(api.router)
    if DASHBOARD_DIR.is_dir():
        app.mount("/dashboard", StaticFiles(directory=DASHBOARD_DIR, html=True), name="dashboard")

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/dashboard/")

    return app
