"""Composition root of dispatch: settings, pool, the door with dispatch's context (rules, SLA table, policies,
crews, photo storage), the Kafka subscriptions (one table, `consumers.py`), the outbox relay and the HTTP app (its
routers from one table, `routes.py`). It wires; it neither runs SQL nor commits (the door does, `shared.handling`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime, timedelta

import asyncpg
from fastapi import FastAPI, Request
from faststream.kafka import KafkaBroker

from services.dispatch import consumers, field_api, metrics, routes
from services.dispatch.classification import load_rules
from services.dispatch.crews import load_crews
from services.dispatch.handlers.context import DispatchContext, DispatchDoor
from services.dispatch.incidents.policy import load_incident_rules
from services.dispatch.photos import photo_storage
from services.dispatch.repository import SCHEMA, PostgresDispatchRepository, open_incidents, outbox_pending
from services.dispatch.retraining import Retraining, follow_loop
from services.dispatch.root_causes import load_root_causes
from services.dispatch.serving import ServedModel
from services.dispatch.settings import DispatchSettings
from services.dispatch.views import DispatchViews
from shared import topics
from shared.contracts import (
    AnyCorrectiveActionEvent,
    AnyIncidentEvent,
    AnyOutageEvent,
    AnyRoutingEvent,
    AnyWorkOrderEvent,
)
from shared.db import transactions
from shared.handling import Door
from shared.http.person import PersonTokens
from shared.http.service_app import create_service_app
from shared.kafka.broker import build_broker
from shared.kafka.subscription import subscribe_all
from shared.logging import get_logger
from shared.observability.kafka import LagSampler
from shared.observability.metrics import Sampler
from shared.observability.service import telemetry
from shared.outbox import OutboxRelay, outbox_sampler
from shared.pruning import pruning_worker
from shared.runtime import Worker, background_work, close_pool, connect_with_retry
from shared.sla import load_sla_table
from shared.subject_keys import SubjectKeys

log = get_logger(__name__)

#: What the OpenAPI document says dispatch does.
DESCRIPTION = (
    "Department work orders: acknowledge, start, note, resolve (catalogue root cause; cause analysis "
    "and corrective actions on serious cases; the customer's acceptance), return, assist; field work (crews, "
    "appointments, arrival, findings, photos, not at home); queues and crews' jobs with the customer's contact "
    "for signed-in staff (each read logged: GET /v1/contact-access); supervisor reclassification; corrective "
    "actions; incidents, outage notices and the asset registry."
)


def build_dispatch_broker(settings: DispatchSettings, door: Callable[[], DispatchDoor]) -> KafkaBroker:
    """Dispatch's Kafka side: its subscriptions (consumers.py), and the topics it publishes (for AsyncAPI)."""
    broker = build_broker(
        settings.kafka_bootstrap_servers, client_id=SCHEMA, metrics=settings.metrics_enabled, security=settings
    )
    subscribe_all(broker, settings, consumers.SUBSCRIPTIONS, door, group_prefix=settings.dispatch_consumer_group)

    # Published through the outbox relay; declared so AsyncAPI documents them.
    broker.publisher(
        topics.COMPLAINT_ROUTED,
        schema=AnyRoutingEvent,
        title="complaint.routed",
        description="complaint.routed (department, severity, deadlines), complaint.linked (duplicates), what "
        "each caller of an incident or outage is told: complaint.joined, complaint.eta_changed, complaint.fault_fixed, "
        "and the complaints that get no work order: complaint.invalid (with the reason the customer is told) and "
        "complaint.resolved_on_contact (settled by the agent; still called back).",
    )
    broker.publisher(
        topics.INCIDENT_EVENTS,
        schema=AnyIncidentEvent,
        title=topics.INCIDENT_EVENTS,
        description="Incidents (one fault, many callers), keyed by incident id: opened, complaint_linked, "
        "eta_updated, resolved; each with the incident's whole current state.",
    )
    broker.publisher(
        topics.OUTAGE_EVENTS,
        schema=AnyOutageEvent,
        title=topics.OUTAGE_EVENTS,
        description="Outage notices, keyed by outage id: declared, complaint_linked, updated (ETA), ended.",
    )
    broker.publisher(
        topics.CORRECTIVE_ACTIONS,
        schema=AnyCorrectiveActionEvent,
        title=topics.CORRECTIVE_ACTIONS,
        description="Corrective actions of serious cases, keyed by complaint id: set (at resolution or later by a "
        "supervisor, with owner and deadline), completed (with the outcome); and a serious case's proposal (cause "
        "analysis and corrective actions) proposed by its lead department, sent back or approved by leadership.",
    )
    for topic in (topics.WORKORDERS_REPAIR, topics.WORKORDERS_BILLING, topics.WORKORDERS_CUSTOMER_SERVICE):
        broker.publisher(
            topic,
            schema=AnyWorkOrderEvent,
            title=topic,
            description="The department's work orders: assigned, acknowledged, started, note_added, resolved, "
            "returned, reassigned; field work: crew_assigned, appointment_agreed, findings_recorded, photo_added, "
            "visit_missed. Every event names who acted (actor: a person's staff id; actor_name).",
        )
    return broker


def dispatch_context(settings: DispatchSettings) -> DispatchContext:
    """The rules, policies and collaborators every use case reaches through `work.context`, from the settings: the
    classification rules, SLA table, incident rules, root-cause catalogue, crews and the photo storage."""
    photos = photo_storage(
        settings.dispatch_photo_storage,
        directory=settings.photo_dir,
        endpoint=settings.dispatch_s3_endpoint,
        bucket=settings.dispatch_s3_bucket,
        access_key=settings.dispatch_s3_access_key_id,
        secret_key=settings.dispatch_s3_secret_access_key,
        region=settings.dispatch_s3_region,
        prefix=settings.dispatch_s3_prefix,
    )
    served = ServedModel()  # the shipped model until a promoted one is followed (retraining.follow_loop)
    return DispatchContext(
        rules=load_rules(settings.dispatch_rules_path),
        classifier=served.classify,
        served=served,
        sla=load_sla_table(),
        sla_scale=settings.sla_time_scale,
        incident_rules=load_incident_rules(settings.dispatch_incident_rules_path),
        root_causes=load_root_causes(settings.dispatch_root_causes_path),
        crews=load_crews(settings.dispatch_crews_path),
        photos=photos,
        photo_max_bytes=settings.dispatch_photo_max_bytes,
        serious_approval=settings.dispatch_serious_approval,
    )


def model_work(app: FastAPI, settings: DispatchSettings) -> list[Worker]:
    """The category model's retraining (`app.state.retraining`, asked for over HTTP) and its background work: follow
    the promoted model, retrain on schedule when set, and end a training still running when the service stops."""
    door: DispatchDoor = app.state.door
    retraining = app.state.retraining = Retraining(
        rules_path=settings.dispatch_rules_path,
        blind_path=settings.dispatch_blind_set_path,
        seed_path=settings.dispatch_seed_set_path,
    )
    workers = [follow_loop(door, settings.dispatch_model_refresh_seconds), retraining.stop_with]
    if settings.dispatch_retrain_every_hours:
        workers.append(retraining.scheduled(door, timedelta(hours=settings.dispatch_retrain_every_hours)))
    return workers


def samplers(pool: asyncpg.Pool, broker: KafkaBroker, settings: DispatchSettings) -> list[Sampler]:
    """What Prometheus reads when it scrapes: the outbox, the consumer lag, the open incidents."""
    return [
        outbox_sampler(pool, SCHEMA),
        LagSampler(broker, settings),
        metrics.incidents_open_sampler(open_incidents, pool),
    ]


def create_app(
    settings: DispatchSettings,
    *,
    clock: Callable[[], datetime] | None = None,
    persons: PersonTokens | None = None,
) -> FastAPI:
    """The HTTP app with its lifespan (pool, consumers, relay). `persons` verifies staff's tokens (tests hand in one
    for their own issuer); without it, one is built when `OIDC_ISSUER` is set, else only machine keys are accepted."""
    persons = persons or PersonTokens.configured(settings)
    context = dispatch_context(settings)
    observed = telemetry(SCHEMA, settings, metrics.count_committed)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await connect_with_retry(settings)
        app.state.pool = pool
        work = transactions(pool, PostgresDispatchRepository)
        app.state.views = DispatchViews(work, photos=context.photos)
        app.state.door = Door(work, replace(context, keys=SubjectKeys(pool)), **({"clock": clock} if clock else {}))
        app.state.broker = broker = build_dispatch_broker(settings, lambda: app.state.door)
        relay = OutboxRelay(
            pool, SCHEMA, settings.kafka_bootstrap_servers, batch_size=settings.outbox_batch_size, security=settings
        )
        app.state.metric_samplers = samplers(pool, broker, settings)
        pruning = pruning_worker(pool, SCHEMA)  # marks and keys past their horizon
        try:
            async with background_work(SCHEMA, broker, app.state.kafka, relay.run, pruning, *model_work(app, settings)):
                yield
        finally:
            await close_pool(pool)

    async def readiness(request: Request) -> dict[str, object]:
        pending = await outbox_pending(request.app.state.pool)
        return {"kafka": request.app.state.kafka["kafka"], "outbox_pending": pending, "rules": context.rules.version}

    app = create_service_app(
        title="Utility complaints — dispatch",
        description=DESCRIPTION,
        lifespan=lifespan,
        readiness=readiness,
        metrics=observed.metrics,
        tracing=observed.tracing,
        # An asset registry export runs to a few MB (tens of thousands of buildings), as CSV or JSON; a photo up to
        # its own limit (which answers 413 itself, naming the field).
        max_body_bytes=max(8 * 1024 * 1024, settings.dispatch_photo_max_bytes + 1024 * 1024),
        csv_paths=frozenset({"/v1/assets/import"}),
        upload_paths=field_api.PHOTO_UPLOAD_PATHS,
        # A retried POST with the same Idempotency-Key (a note, a step, an outage notice) has one effect.
        idempotency_schema="dispatch",
    )
    app.state.settings = settings
    app.state.persons = persons
    app.state.crews = context.crews
    app.state.kafka = {"kafka": "starting"}
    for router in routes.ROUTERS:
        app.include_router(router)
    return app
