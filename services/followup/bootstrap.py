"""Composition root of followup: settings, pool, SLA table, notifier, Kafka subscribers, timer worker,
outbox relay and the HTTP app."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from services.followup import api, sla_clocks
from services.followup.contacts import on_contact
from services.followup.context import FollowupContext
from services.followup.notifications import Notifier, Templates
from services.followup.settings import FollowupSettings
from services.followup.timers import TimerWorker
from shared import outbox, topics
from shared.contracts import (
    AnyCallbackEvent,
    AnyEscalationEvent,
    AnyWorkOrderEvent,
    ComplaintClosed,
    ComplaintContact,
    ComplaintReopened,
    Event,
    NotificationRequested,
)
from shared.db import unit_of_work
from shared.http.service_app import create_service_app
from shared.kafka.broker import build_broker
from shared.kafka.consumer import guarded, raw_decoder
from shared.logging import get_logger
from shared.outbox import OutboxRelay
from shared.runtime import background_work, connect_with_retry
from shared.sla import load_sla_table

log = get_logger(__name__)
SCHEMA = "followup"


def build_followup_broker(settings: FollowupSettings, context: Callable[[], FollowupContext]) -> KafkaBroker:
    broker = build_broker(settings.kafka_bootstrap_servers, client_id=SCHEMA)
    group = settings.followup_consumer_group

    async def handle_work_orders(events: list[Any]) -> None:
        ctx = context()
        async with unit_of_work(ctx.pool) as uow:
            outgoing: list[Event] = []
            for event in events:
                outgoing += await sla_clocks.on_work_order_event(ctx, uow.conn, event)
            await outbox.add(uow.conn, SCHEMA, outgoing)
            uow.commit()

    async def handle_contacts(events: list[ComplaintContact]) -> None:
        async with unit_of_work(context().pool) as uow:
            for event in events:
                await on_contact(uow.conn, event)
            uow.commit()

    work_orders = guarded(broker, settings, "followup.work-orders", AnyWorkOrderEvent, handle_work_orders)
    contacts = guarded(broker, settings, "followup.complaint-contact", ComplaintContact, handle_contacts)

    @broker.subscriber(
        topics.WORKORDERS_REPAIR,
        topics.WORKORDERS_BILLING,
        topics.WORKORDERS_CUSTOMER_SERVICE,
        group_id=f"{group}.work-orders",
        auto_offset_reset="earliest",
        batch=True,
        max_records=500,
        decoder=raw_decoder,
        title="followup/work-orders",
        description="Starts, stops and resolves the SLA clocks of every work order; schedules callbacks.",
    )
    async def on_work_orders(body: list[bytes], message: KafkaMessage) -> None:
        await work_orders(message)

    @broker.subscriber(
        topics.COMPLAINT_CONTACT,
        group_id=f"{group}.complaint-contact",
        auto_offset_reset="earliest",
        batch=True,
        max_records=500,
        decoder=raw_decoder,
        title="followup/complaint.contact",
        description="Restricted contact data, for callbacks and customer notifications.",
    )
    async def on_contacts(body: list[bytes], message: KafkaMessage) -> None:
        await contacts(message)

    for topic, schema, description in (
        (topics.COMPLAINT_ESCALATED, AnyEscalationEvent, "SLA warnings and escalations, rung by rung."),
        (topics.CALLBACK_EVENTS, AnyCallbackEvent, "Callbacks scheduled and attempted."),
        (topics.COMPLAINT_REOPENED, ComplaintReopened, "Dissatisfied customers: a new cycle with raised severity."),
        (topics.COMPLAINT_CLOSED, ComplaintClosed, "Closed after a satisfied or finally unreachable callback."),
        (
            topics.NOTIFICATION_REQUESTED,
            NotificationRequested,
            "Restricted: messages for the notification gateway (customers' numbers inside).",
        ),
    ):
        broker.publisher(topic, schema=schema, title=topic, description=description)
    return broker


def create_app(settings: FollowupSettings, *, clock: Callable[[], Any] | None = None) -> FastAPI:
    sla = load_sla_table()
    notifier = Notifier(
        Templates(), settings.notification_locale, settings.notification_daily_cap, ZoneInfo(sla.config.timezone)
    )
    worker_name = f"{socket.gethostname()}:{os.getpid()}"

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await connect_with_retry(settings)
        extra = {"clock": clock} if clock else {}
        ctx = FollowupContext(
            pool=pool,
            sla=sla,
            notifier=notifier,
            time_scale=settings.sla_time_scale,
            callback_max_attempts=settings.callback_max_attempts,
            callback_retry_interval=settings.callback_retry_interval,
            **extra,
        )
        app.state.pool = pool
        app.state.followup = ctx
        broker = build_followup_broker(settings, lambda: ctx)
        worker = TimerWorker(
            pool,
            lambda conn, timer, now: sla_clocks.fire(ctx, conn, timer, now),
            ctx.clock,
            name=worker_name,
            batch_size=settings.timer_batch_size,
            poll_interval=settings.timer_poll_ms / 1000,
        )
        relay = OutboxRelay(pool, SCHEMA, settings.kafka_bootstrap_servers, batch_size=settings.outbox_batch_size)
        try:
            async with background_work(SCHEMA, broker, app.state.kafka, relay.run, worker.run):
                yield
        finally:
            await pool.close()

    async def readiness(request: Request) -> dict[str, object]:
        pool = request.app.state.pool
        due = await pool.fetchval(
            "SELECT count(*) FROM followup.timers WHERE fired_at IS NULL AND cancelled_at IS NULL AND due_at <= now()"
        )
        return {
            "kafka": request.app.state.kafka["kafka"],
            "timers_due": due,
            "outbox_pending": await pool.fetchval("SELECT count(*) FROM followup.outbox"),
        }

    app = create_service_app(
        title="Utility complaints — followup",
        description="Callback worklist and outcomes for agents; SLA clocks and escalations of each case.",
        lifespan=lifespan,
        readiness=readiness,
    )
    app.state.settings = settings
    app.state.kafka = {"kafka": "starting"}
    app.include_router(api.router)
    return app
