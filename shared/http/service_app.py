"""The FastAPI app every service starts from: problem+json errors, body limit, request context
(correlation id, structured access log, 503 when the database is down), security headers, /healthz, /readyz, and
what operators watch: /metrics (Prometheus) and, when tracing is on, a server span per request."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from shared.http.body_limit import BodySizeLimit
from shared.http.exposure import Exposure
from shared.http.idempotency_keys import IdempotencyKeys, document_idempotency_key
from shared.http.problems import install_problem_handlers
from shared.http.rate_counts import RateCounts, syncing_rate_counts
from shared.http.request_context import RequestContext
from shared.http.write_limits import WriteLimits
from shared.kafka.liveness import stopped_subscribers
from shared.logging import bind_case, get_logger
from shared.observability.http import add_metrics_route, instrument_http

log = get_logger(__name__)
#: Returns extra readiness facts; raises when the service cannot serve.
ReadinessCheck = Callable[[Request], Awaitable[dict[str, Any]]]


def create_service_app(
    *,
    title: str,
    description: str,
    lifespan: Any,
    readiness: ReadinessCheck,
    max_body_bytes: int = 64 * 1024,
    metrics: bool = True,
    tracing: bool = False,
    csv_paths: frozenset[str] = frozenset(),
    upload_paths: str | None = None,
    raw_body_paths: tuple[str, ...] = (),
    idempotency_schema: str | None = None,
    rate_limit_schema: str | None = None,
) -> FastAPI:
    """`metrics`: measure requests (`/metrics` is served either way); `tracing`: a server span per request;
    `upload_paths`: a regular expression of the paths that take multipart/form-data (file uploads);
    `raw_body_paths`: path prefixes whose routes take a body of any content type and read it themselves (vendors'
    callbacks in their own formats) — the body limit still applies; `idempotency_schema`: the service's schema
    holding `idempotency_keys`, to honour `Idempotency-Key` on its POSTs (`shared.http.idempotency_keys`).
    `rate_limit_schema`: the service's schema holding `rate_limit_counts`, to share the write limit with its
    replicas (`shared.http.rate_counts`, synced by `app.state.rate_counts` in the background while the lifespan
    runs; unset, `idempotency_schema`: both tables are in every service's schema, shared/sql). Every app: security
    headers on HTML answers, /docs, /openapi.json and
    /metrics served only when its settings (`app.state.settings`) expose them (`shared.http.exposure`), writes
    limited per credential (`shared.http.write_limits`)."""
    app = FastAPI(
        title=title, version="1.0.0", description=description, lifespan=closing_samplers(syncing_rate_counts(lifespan))
    )
    app.state.rate_counts = RateCounts(rate_limit_schema or idempotency_schema)
    install_problem_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    if idempotency_schema is not None:
        app.add_middleware(IdempotencyKeys, schema=idempotency_schema)
        document_idempotency_key(app)
    app.add_middleware(Exposure)
    app.add_middleware(WriteLimits)
    uploads = re.compile(upload_paths) if upload_paths else None
    # It sees every answer, including the body limit's.
    app.add_middleware(RequestContext, csv_paths=csv_paths, upload_paths=uploads, raw_body_paths=raw_body_paths)
    instrument_http(app, metrics=metrics, tracing=tracing)  # outermost: measured as the client saw it
    add_metrics_route(app)

    _add_health_routes(app, readiness)
    return app


def _add_health_routes(app: FastAPI, readiness: ReadinessCheck) -> None:
    """/healthz (the process answers) and /readyz (it can serve: the service's own check, and no consumer stopped)."""

    @app.get("/healthz", tags=["operations"], summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="Ready to serve (database reachable, no consumer stopped)",
        responses={503: {"description": "Not ready: the check that failed", "content": {"application/json": {}}}},
    )
    async def readyz(request: Request) -> JSONResponse:
        stopped = stopped_subscribers(getattr(request.app.state, "broker", None))
        if stopped:  # a consumer that stopped for good: the process must be restarted (`shared.kafka.liveness`)
            return JSONResponse({"status": "not ready", "stopped_consumers": stopped}, status_code=503)
        try:
            body = await asyncio.wait_for(readiness(request), timeout=3)
            return JSONResponse({"status": "ready", **body})
        except Exception as exc:
            return JSONResponse({"status": "not ready", "error": repr(exc)}, status_code=503)


def mark_case(request: Request, complaint_id: object) -> None:
    """Name the case this request is about, so the access-log line carries it."""
    request.state.complaint_id = str(complaint_id)
    bind_case(complaint_id=str(complaint_id))


def app_state(attr: str) -> Callable[[Request], Awaitable[Any]]:
    """A FastAPI dependency giving `app.state.<attr>`, which the service's composition root set: routes name
    typed aliases of these (each service's `deps.py`) and never reach into `app.state` themselves.

    Async on purpose: FastAPI runs a plain `def` dependency in its thread pool, a hop per request for nothing.
    """

    async def from_app_state(request: Request) -> Any:
        return getattr(request.app.state, attr)

    return from_app_state


def closing_samplers(lifespan: Callable[[Any], AbstractAsyncContextManager[Any]]) -> Any:
    """The service's lifespan, then the metric samplers it set (`app.state.metric_samplers`) that hold something
    open between scrapes closed (those with an `aclose`: the lag sampler's Kafka clients)."""

    @asynccontextmanager
    async def closing(app: Any) -> AsyncIterator[Any]:
        try:
            async with lifespan(app) as state:
                yield state
        finally:
            closers = [c for s in getattr(app.state, "metric_samplers", ()) if (c := getattr(s, "aclose", None))]
            await asyncio.gather(*(close() for close in closers), return_exceptions=True)

    return closing
