"""The FastAPI app every service starts from: problem+json errors, body limit, request context
(correlation id, structured access log, 503 when the database is down) and /healthz, /readyz."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from shared.http.body_limit import BodySizeLimit
from shared.http.problems import install_problem_handlers, problem_response
from shared.logging import bind_case, clear_case, get_logger

log = get_logger(__name__)
_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})
DATABASE_DOWN: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.CannotConnectNowError,  # "the database system is shutting down / starting up"
    asyncpg.AdminShutdownError,  # "terminating connection due to administrator command"
)

#: Returns extra readiness facts; raises when the service cannot serve.
ReadinessCheck = Callable[[Request], Awaitable[dict[str, Any]]]


def create_service_app(
    *, title: str, description: str, lifespan: Any, readiness: ReadinessCheck, max_body_bytes: int = 64 * 1024
) -> FastAPI:
    app = FastAPI(title=title, version="1.0.0", description=description, lifespan=lifespan)
    install_problem_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)

    @app.middleware("http")
    async def request_context(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        given = request.headers.get("x-correlation-id", "")
        correlation_id = given if _CORRELATION_ID.match(given) else str(uuid.uuid4())
        request.state.correlation_id = correlation_id
        request.state.complaint_id = None
        clear_case()
        bind_case(correlation_id=correlation_id)
        started = time.perf_counter()
        content_type = request.headers.get("content-type", "")
        has_body = request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers
        if request.method in _WRITE_METHODS and has_body and not content_type.startswith("application/json"):
            response: Response = problem_response(
                415, "Unsupported Media Type", "send the body as application/json", request.url.path
            )
        else:
            try:
                response = await call_next(request)
            except DATABASE_DOWN as exc:
                log.error("database unavailable", error=repr(exc))
                response = problem_response(
                    503,
                    "Service Unavailable",
                    "the database is unavailable; retry shortly",
                    request.url.path,
                    {"Retry-After": "5"},
                )
        response.headers["X-Correlation-ID"] = correlation_id
        bind_case(complaint_id=request.state.complaint_id)
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

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="Ready to serve (database reachable)",
        responses={503: {"description": "Not ready: the check that failed", "content": {"application/json": {}}}},
    )
    async def readyz(request: Request) -> JSONResponse:
        try:
            body = await asyncio.wait_for(readiness(request), timeout=3)
            return JSONResponse({"status": "ready", **body})
        except Exception as exc:
            return JSONResponse({"status": "not ready", "error": repr(exc)}, status_code=503)

    return app


def mark_case(request: Request, complaint_id: object) -> None:
    """Name the case this request is about, so the access-log line carries it."""
    request.state.complaint_id = str(complaint_id)
    bind_case(complaint_id=str(complaint_id))
