"""Composition root of dispatch: settings, pool, rules, SLA table, Kafka subscribers, relay, HTTP app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI, Request
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from services.dispatch import api
from services.dispatch.classification import load_rules
from services.dispatch.department_ingress import DepartmentUpdate, apply_updates
from services.dispatch.handlers import SCHEMA, Dispatcher
from services.dispatch.settings import DispatchSettings
from shared import topics
from shared.contracts import (
    AnyRoutingEvent,
    AnyWorkOrderEvent,
    ComplaintReceived,
    ComplaintReopened,
)
from shared.http.service_app import create_service_app
from shared.kafka.broker import build_broker
from shared.kafka.consumer import guarded, raw_decoder
from shared.logging import get_logger
from shared.outbox import OutboxRelay
from shared.runtime import background_work, connect_with_retry
from shared.sla import load_sla_table

log = get_logger(__name__)


def build_dispatch_broker(settings: DispatchSettings, dispatcher: Callable[[], Dispatcher]) -> KafkaBroker:
    broker = build_broker(settings.kafka_bootstrap_servers, client_id=SCHEMA)
    group = settings.dispatch_consumer_group

    received = guarded(
        broker,
        settings,
        "dispatch.complaint-received",
        ComplaintReceived,
        lambda events: dispatcher().route_received(events),
    )
    reopened = guarded(
        broker, settings, "dispatch.complaint-reopened", ComplaintReopened, lambda events: dispatcher().reopen(events)
    )
    updates = guarded(
        broker,
        settings,
        "dispatch.department-updates",
        DepartmentUpdate,
        lambda batch: apply_updates(dispatcher(), batch),
    )

    # Raw bytes everywhere: the guard validates, so a bad message is dead-lettered, not redelivered forever.
    @broker.subscriber(
        topics.COMPLAINT_RECEIVED,
        group_id=f"{group}.complaint-received",
        auto_offset_reset="earliest",
        batch=True,
        max_records=settings.dispatch_batch_size,
        decoder=raw_decoder,
        title="dispatch/complaint.received",
        description="Classifies and routes every complaint, in batches, idempotently.",
    )
    async def on_received(body: list[bytes], message: KafkaMessage) -> None:
        await received(message)

    @broker.subscriber(
        topics.COMPLAINT_REOPENED,
        group_id=f"{group}.complaint-reopened",
        auto_offset_reset="earliest",
        decoder=raw_decoder,
        title="dispatch/complaint.reopened",
        description="Opens a new cycle with raised severity.",
    )
    async def on_reopened(body: bytes, message: KafkaMessage) -> None:
        await reopened(message)

    @broker.subscriber(
        topics.DEPARTMENT_UPDATES,
        group_id=f"{group}.department-updates",
        auto_offset_reset="earliest",
        decoder=raw_decoder,
        title="dispatch/department-updates",
        description="Department systems acknowledge, start, note, resolve or return work orders.",
    )
    async def on_update(body: bytes, message: KafkaMessage) -> None:
        await updates(message)

    # Published through the outbox relay; declared so AsyncAPI documents them.
    broker.publisher(
        topics.COMPLAINT_ROUTED,
        schema=AnyRoutingEvent,
        title="complaint.routed",
        description="complaint.routed (department, severity, deadlines) and complaint.linked (duplicates).",
    )
    for topic in (topics.WORKORDERS_REPAIR, topics.WORKORDERS_BILLING, topics.WORKORDERS_CUSTOMER_SERVICE):
        broker.publisher(
            topic,
            schema=AnyWorkOrderEvent,
            title=topic,
            description="The department's work orders: assigned, acknowledged, started, note_added, "
            "resolved, returned, reassigned.",
        )
    return broker


def create_app(settings: DispatchSettings, *, clock: Callable[[], datetime] | None = None) -> FastAPI:
    rules = load_rules(settings.dispatch_rules_path)
    sla = load_sla_table()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await connect_with_retry(settings)
        app.state.pool = pool
        app.state.dispatcher = Dispatcher(
            pool=pool, rules=rules, sla=sla, sla_scale=settings.sla_time_scale, **({"clock": clock} if clock else {})
        )
        broker = build_dispatch_broker(settings, lambda: app.state.dispatcher)
        relay = OutboxRelay(pool, SCHEMA, settings.kafka_bootstrap_servers, batch_size=settings.outbox_batch_size)
        try:
            async with background_work(SCHEMA, broker, app.state.kafka, relay.run):
                yield
        finally:
            await pool.close()

    async def readiness(request: Request) -> dict[str, object]:
        pending = await request.app.state.pool.fetchval("SELECT count(*) FROM dispatch.outbox")
        return {"kafka": request.app.state.kafka["kafka"], "outbox_pending": pending, "rules": rules.version}

    app = create_service_app(
        title="Utility complaints — dispatch",
        description="Department work orders: acknowledge, start, note, resolve, return; queues; supervisor "
        "reclassification.",
        lifespan=lifespan,
        readiness=readiness,
    )
    app.state.settings = settings
    app.state.kafka = {"kafka": "starting"}
    app.include_router(api.router)
    return app
