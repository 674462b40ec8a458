"""Composition root of intake: wires settings, pool, Kafka broker, outbox relay and the HTTP app."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from zoneinfo import ZoneInfo

import asyncpg
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from services.intake import api
from services.intake.limits import BodySizeLimit
from services.intake.partner_ingress import PartnerTicket, to_submission
from services.intake.problems import install_problem_handlers, problem_response
from services.intake.settings import IntakeSettings
from services.intake.submission import SERVICE, submit_complaint
from shared import topics
from shared.contracts import ComplaintContact, ComplaintReceived
from shared.db import create_pool
from shared.kafka.broker import build_broker
from shared.kafka.consumer import GuardedHandler, raw_decoder
from shared.logging import bind_case, clear_case, get_logger
from shared.outbox import OutboxRelay

log = get_logger(__name__)
_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})


def build_intake_broker(settings: IntakeSettings, pool_getter: Callable[[], asyncpg.Pool]) -> KafkaBroker:
    """The intake's Kafka side: partner-ticket ingress, and the topics it publishes (for AsyncAPI)."""
    broker = build_broker(settings.kafka_bootstrap_servers, client_id=SERVICE)
    timezone = ZoneInfo(settings.timezone)

    async def handle_ticket(ticket: PartnerTicket) -> None:
        submission = to_submission(ticket)
        bind_case(correlation_id=submission.correlation_id)
        submitted = await submit_complaint(submission, pool=pool_getter(), timezone=timezone)
        bind_case(complaint_id=str(submitted.complaint.complaint_id))

    guard = GuardedHandler(
        broker=broker,
        consumer="intake.partner-tickets",
        model=PartnerTicket,
        handle=handle_ticket,
        max_attempts=settings.consumer_max_attempts,
        retry_backoff_s=settings.consumer_retry_backoff_ms / 1000,
    )

    @broker.subscriber(
        topics.PARTNER_TICKETS,
        group_id=settings.intake_consumer_group,
        auto_offset_reset="earliest",
        decoder=raw_decoder,
        title="intake/partner-tickets",
        description="Tickets forwarded by the 12345 and 95598 hotlines; invalid ones go to the .dlq topic.",
    )
    async def on_partner_ticket(body: bytes, message: KafkaMessage) -> None:
        # Raw bytes on purpose: the guard validates, so a bad ticket is dead-lettered, not redelivered.
        await guard(message)

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
    broker.guard = guard  # type: ignore[attr-defined]  # exposed for health and tests
    return broker


async def _connect_with_retry(dsn: str, settings: IntakeSettings, deadline_s: float = 60) -> asyncpg.Pool:
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            return await create_pool(dsn, min_size=settings.database_pool_min, max_size=settings.database_pool_max)
        except (OSError, asyncpg.PostgresError) as exc:
            if time.monotonic() > deadline:
                raise
            log.warning("database not reachable yet", error=repr(exc))
            await asyncio.sleep(1)


async def _run_broker(broker: KafkaBroker, stop: asyncio.Event, state: dict[str, str]) -> None:
    """Start the Kafka consumer, retrying while the broker is down: HTTP intake does not wait for it."""
    backoff = 0.5
    while not stop.is_set():
        try:
            await broker.start()
            state["kafka"] = "connected"
            log.info("kafka consumer started")
            return
        except Exception as exc:
            state["kafka"] = "unavailable"
            log.warning("kafka not reachable, intake keeps accepting into the outbox", error=repr(exc))
            with contextlib.suppress(Exception):
                await broker.stop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=backoff)
            backoff = min(backoff * 2, 10)


def create_app(settings: IntakeSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await _connect_with_retry(settings.database_url, settings)
        app.state.pool = pool
        stop = asyncio.Event()
        broker = build_intake_broker(settings, lambda: pool)
        app.state.broker = broker
        relay = OutboxRelay(pool, SERVICE, settings.kafka_bootstrap_servers, batch_size=settings.outbox_batch_size)
        app.state.relay = relay
        tasks = [
            asyncio.create_task(relay.run(stop), name="outbox-relay"),
            asyncio.create_task(_run_broker(broker, stop, app.state.kafka), name="kafka-consumer"),
        ]
        log.info("intake started", port=settings.intake_http_port)
        try:
            yield
        finally:
            stop.set()
            with contextlib.suppress(Exception):
                await broker.stop()
            await asyncio.gather(*tasks, return_exceptions=True)
            await pool.close()
            log.info("intake stopped")

    app = FastAPI(
        title="Utility complaints — intake",
        version="1.0.0",
        description="Complaint submission for every channel, and status lookup by id or reference number.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.timezone = ZoneInfo(settings.timezone)
    app.state.kafka = {"kafka": "starting"}
    install_problem_handlers(app)
    app.include_router(api.router)
    app.add_middleware(BodySizeLimit, max_bytes=settings.intake_max_body_bytes)

    @app.middleware("http")
    async def request_context(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        given = request.headers.get("x-correlation-id", "")
        correlation_id = given if _CORRELATION_ID.match(given) else str(uuid.uuid4())
        request.state.correlation_id = correlation_id
        clear_case()
        bind_case(correlation_id=correlation_id)
        started = time.perf_counter()
        content_type = request.headers.get("content-type", "")
        if request.method in _WRITE_METHODS and not content_type.startswith("application/json"):
            response: Response = problem_response(
                415, "Unsupported Media Type", "send the body as application/json", request.url.path
            )
        else:
            try:
                response = await call_next(request)
            except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError) as exc:
                log.error("database unavailable", error=repr(exc))
                response = problem_response(
                    503,
                    "Service Unavailable",
                    "the database is unavailable; retry shortly",
                    request.url.path,
                    {"Retry-After": "5"},
                )
        response.headers["X-Correlation-ID"] = correlation_id
        log.info(
            "http request",
            method=request.method,
            path=request.url.path,
            status=response.status_code,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        clear_case()
        return response

    @app.get("/healthz", tags=["operations"], summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], summary="Ready to accept complaints (database reachable)")
    async def readyz(request: Request) -> JSONResponse:
        pool: asyncpg.Pool | None = getattr(request.app.state, "pool", None)
        body: dict[str, object] = {"kafka": request.app.state.kafka["kafka"]}
        try:
            assert pool is not None
            body["outbox_pending"] = await asyncio.wait_for(
                pool.fetchval("SELECT count(*) FROM intake.outbox"), timeout=2
            )
            body["status"] = "ready"
            return JSONResponse(body)
        except Exception as exc:
            body.update(status="not ready", error=repr(exc))
            return JSONResponse(body, status_code=503)

    return app
