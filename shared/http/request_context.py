"""Per-request context as plain ASGI middleware: correlation id, content-type gate, 503 while the database is
down, and a structured access-log line naming the case — for every failed (4xx, 5xx) or slow request, and for a
sampled share of the rest (`AccessLog`).

Plain ASGI rather than `@app.middleware("http")`: Starlette's BaseHTTPMiddleware runs every request through an
extra task group and memory streams, a fixed cost per request that showed in intake's load profile."""

from __future__ import annotations

import random
import re
import time
import uuid

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.db_errors import database_unavailable
from shared.http.problems import problem_response
from shared.logging import bind_case, clear_case, get_logger

log = get_logger(__name__)
_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})


#: A successful request at least this slow is always logged, whatever the sample rate.
SLOW_REQUEST_MS = 1000.0


def _unavailable(path: str) -> ASGIApp:
    """503 with Retry-After: the database cannot do the work now (`shared.db_errors`)."""
    return problem_response(
        503, "Service Unavailable", "the database is unavailable; retry shortly", path, {"Retry-After": "5"}
    )


class AccessLog:
    """Which requests get an access-log line: every failure (4xx, 5xx, an exception) and every slow one, always;
    of the successful, fast rest a `sample_rate` share. A written line costs far more than the request's own work
    on the hot path (structlog's processors, masking, JSON: 60–250 µs), and at hundreds of accepted complaints a
    second one line per 202 is mostly that cost. Every line is written until the process sets its rate
    (`shared.runtime.serve`, from `ServiceSettings.access_log_sample_rate`)."""

    def __init__(self, sample_rate: float = 1.0) -> None:
        self.sample_rate = sample_rate

    def wanted(self, status: int, duration_ms: float) -> bool:
        if status >= 400 or duration_ms >= SLOW_REQUEST_MS or self.sample_rate >= 1.0:
            return True
        return random.random() < self.sample_rate


#: The process's access-log policy.
ACCESS_LOG = AccessLog()


def configure_access_log(sample_rate: float) -> None:
    ACCESS_LOG.sample_rate = sample_rate


class RequestContext:
    def __init__(
        self,
        app: ASGIApp,
        csv_paths: frozenset[str] = frozenset(),
        upload_paths: re.Pattern[str] | None = None,
        raw_body_paths: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        #: Paths that also take a text/csv body (file imports); every other write takes JSON only.
        self.csv_paths = csv_paths
        #: Paths (a pattern: they carry ids) that take a multipart/form-data body, a file upload such as a photo.
        self.upload_paths = upload_paths
        #: Path prefixes whose routes read the raw body themselves, in whatever content type the caller sends
        #: (vendors' callbacks: XML, forms, JSON as text/plain); the route checks what it reads.
        self.raw_body_paths = raw_body_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        given = headers.get("x-correlation-id", "")
        correlation_id = given if _CORRELATION_ID.match(given) else str(uuid.uuid4())
        state = scope.setdefault("state", {})
        state["correlation_id"], state["complaint_id"] = correlation_id, None
        clear_case()
        bind_case(correlation_id=correlation_id)
        started, status = time.perf_counter(), 500
        path = scope["path"]

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-correlation-id", correlation_id.encode())]
            await send(message)

        try:
            has_body = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
            content_type = headers.get("content-type", "")
            accepted = (
                content_type.startswith("application/json")
                or path.startswith(self.raw_body_paths)
                or (path in self.csv_paths and content_type.startswith("text/csv"))
                or (
                    self.upload_paths is not None
                    and content_type.startswith("multipart/form-data")
                    and self.upload_paths.fullmatch(path) is not None
                )
            )
            if scope["method"] in _WRITE_METHODS and has_body and not accepted:
                refusal = problem_response(415, "Unsupported Media Type", "send the body as application/json", path)
                await refusal(scope, receive, send_with_id)
                return
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as exc:
                if not database_unavailable(exc):  # `shared.db_errors`: by its SQLSTATE, not only a lost connection
                    raise
                log.error("database unavailable", error=repr(exc))
                await _unavailable(path)(scope, receive, send_with_id)
        finally:
            duration_ms = (time.perf_counter() - started) * 1000
            if ACCESS_LOG.wanted(status, duration_ms):
                bind_case(complaint_id=state.get("complaint_id"))
                log.info(
                    "http request",
                    method=scope["method"],
                    path=path,
                    status=status,
                    duration_ms=round(duration_ms, 1),
                    sample_rate=ACCESS_LOG.sample_rate if status < 400 else 1.0,
                )
            clear_case()
