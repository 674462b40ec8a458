"""Composition root of intake: wires settings, pool, the door (`shared.handling`), the subscriptions of
`consumers.py`, the outbox relay and the HTTP app."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from faststream.kafka import KafkaBroker

from services.intake import api, consumers, metrics, privacy_api
from services.intake.handlers.context import IntakeContext
from services.intake.handlers.retention import SweepRetention, sweep_retention
from services.intake.ingress_scrub import ingress_scrubber
from services.intake.limits import LimitSettings, SubmissionLimits
from services.intake.model import SERVICE
from services.intake.repository import IntakeRepository, PostgresIntakeRepository, outbox_pending
from services.intake.settings import IntakeSettings
from shared import topics
from shared.contracts import ComplaintContact, ComplaintReceived, SubjectErased
from shared.contracts.channels import CustomerReplied
from shared.db import transactions
from shared.handling import Door
from shared.http.person import PersonTokens
from shared.http.service_app import create_service_app
from shared.kafka.broker import build_broker
from shared.kafka.subscription import subscribe_all
from shared.logging import get_logger
from shared.observability.kafka import LagSampler
from shared.observability.service import telemetry
from shared.outbox import OutboxRelay, outbox_sampler
from shared.pruning import pruning_worker
from shared.runtime import background_work, close_pool, connect_with_retry

log = get_logger(__name__)


def build_intake_broker(
    settings: IntakeSettings, door: Callable[[], Door[IntakeRepository, IntakeContext]]
) -> KafkaBroker:
    """The intake's Kafka side: the subscriptions of `consumers.py` through the door, and the topics it publishes
    (for AsyncAPI)."""
    broker = build_broker(
        settings.kafka_bootstrap_servers, client_id=SERVICE, metrics=settings.metrics_enabled, security=settings
    )
    guards = subscribe_all(broker, settings, consumers.SUBSCRIPTIONS, door, group_prefix=settings.intake_consumer_group)
    # Published through the outbox relay; declared here so AsyncAPI documents them.
    broker.publisher(
        topics.COMPLAINT_RECEIVED,
        schema=ComplaintReceived,
        title="complaint.received",
        description="Every accepted complaint, contact data masked. Key: complaint id.",
    )
    broker.publisher(
        topics.COMPLAINT_CONTACT,
        schema=ComplaintContact,
        title="complaint.contact",
        description="Restricted (followup only): the customer's contact data for callbacks.",
    )
    broker.publisher(
        topics.COMPLAINT_REPLIES,
        schema=CustomerReplied,
        title="complaint.customer_replied",
        description="A customer's reply on their case (from the channels service), text masked. Key: complaint id.",
    )
    broker.publisher(
        topics.PRIVACY_ERASURES,
        schema=SubjectErased,
        title="privacy.subject_erased",
        description="A customer was erased (PIPL request or retention): every holder purges their data. No personal "
        "data. Key: the customer's first complaint id.",
    )
    broker.guard = guards[consumers.PARTNER_TICKETS.consumer]  # type: ignore[attr-defined]  # for health and tests
    return broker


def create_app(settings: IntakeSettings, persons: PersonTokens | None = None) -> FastAPI:
    """The HTTP app; `persons` verifies staff tokens (tests hand in their own; else built from the settings)."""
    observed = telemetry(SERVICE, settings, metrics.count_committed)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await connect_with_retry(settings)
        app.state.pool = pool
        context = IntakeContext(ZoneInfo(settings.timezone), settings.intake_customer_hash_key)
        app.state.door = Door(transactions(pool, PostgresIntakeRepository), context)
        app.state.broker = broker = build_intake_broker(settings, lambda: app.state.door)
        relay = OutboxRelay(
            pool, SERVICE, settings.kafka_bootstrap_servers, batch_size=settings.outbox_batch_size, security=settings
        )
        app.state.metric_samplers = [outbox_sampler(pool, SERVICE), LagSampler(broker, settings)]
        sweep = retention_sweep(settings, lambda: app.state.door)
        scrubber = ingress_scrubber(settings, lambda: app.state.door)
        pruning = pruning_worker(pool, SERVICE)  # marks and keys past their horizon
        try:
            async with background_work(SERVICE, broker, app.state.kafka, relay.run, pruning, sweep, scrubber):
                yield
        finally:
            await close_pool(pool)

    async def readiness(request: Request) -> dict[str, object]:
        pending = await outbox_pending(request.app.state.pool)
        return {"kafka": request.app.state.kafka["kafka"], "outbox_pending": pending}

    app = create_service_app(
        title="Utility complaints — intake",
        description="Complaint submission for every channel, and status lookup by id or reference number.",
        lifespan=lifespan,
        readiness=readiness,
        max_body_bytes=settings.intake_max_body_bytes,
        metrics=observed.metrics,
        tracing=observed.tracing,
        rate_limit_schema="intake",  # writes per credential shared by the replicas
    )
    app.state.settings = settings
    app.state.submission_limits = SubmissionLimits(
        LimitSettings(*settings.rate_limits),
        settings.intake_customer_hash_key,
        time.monotonic,
        counts=app.state.rate_counts,  # synced with the other replicas by the app's lifespan
    )
    app.state.persons = persons or PersonTokens.configured(settings)
    app.state.kafka = {"kafka": "starting"}
    app.include_router(api.router)
    app.include_router(privacy_api.router)
    return app


def retention_sweep(
    settings: IntakeSettings, door: Callable[[], Door[IntakeRepository, IntakeContext]]
) -> Callable[[asyncio.Event], Awaitable[None]]:
    """The background worker erasing customers past their retention (`handlers/retention.py`), a batch at a time,
    every `INTAKE_RETENTION_SWEEP_SECONDS`."""
    command = SweepRetention(timedelta(days=settings.intake_contact_retention_days))

    async def run(stop: asyncio.Event) -> None:
        while not stop.is_set():
            while len(await door().run(sweep_retention, command)) == command.limit and not stop.is_set():
                pass
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=settings.intake_retention_sweep_seconds)

    run.__qualname__ = "retention_sweep"
    return run
