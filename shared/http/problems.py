"""RFC 9457 problem+json for every error a service returns: a status, a title, and each bad field named."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from shared.errors import DomainError
from shared.logging import get_logger

log = get_logger(__name__)
PROBLEM_JSON = "application/problem+json"

#: What each error status means on every service; an operation may word its own.
_MEANING = {
    400: "Malformed JSON",
    401: "Missing or unknown credential",
    403: "The credential may not do this",
    404: "Not found",
    409: "Not allowed in the resource's current state",
    413: "Body over the size limit",
    415: "Body is not JSON",
    422: "Invalid fields or parameters, each named",
    429: "Too many requests; retry after the Retry-After seconds",
    503: "Database unavailable; retry after the Retry-After seconds",
}
#: Every operation can answer these: no or unknown credential, bad parameters, the database down.
_ALWAYS = (401, 422, 503)
#: Every operation taking a body can answer these too (the body-limit and content-type gates).
_WITH_BODY = (400, 413, 415)
_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "instance"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "instance": {"type": "string"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {"type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}}},
        },
    },
}


def problem_responses(*statuses: int, body: bool = False, **meanings: str) -> dict[int | str, dict[str, Any]]:
    """The documented error answers of an operation, for FastAPI's `responses=`: the statuses every operation
    can give, those of operations taking a body when `body`, and the operation's own `statuses`. A status may be
    worded for the operation by keyword (`s404="No such work order"`), so integrators read what it means there."""
    chosen = sorted({*_ALWAYS, *(_WITH_BODY if body else ()), *statuses})
    return {
        status: {
            "description": meanings.get(f"s{status}", _MEANING[status]),
            "content": {PROBLEM_JSON: {"schema": _SCHEMA}},
        }
        for status in chosen
    }


class Problem(Exception):
    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.detail = detail
        self.headers = headers
        self.extra = extra


def problem_response(
    status: int, title: str, detail: str | None, instance: str, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "instance": instance}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


#: Writes an error in a protocol's own format: the status, one description per fault, the headers to send.
ErrorFormat = Callable[[Request, int, list[str], Mapping[str, str] | None], Response]


def answer_errors_as(app: FastAPI, prefix: str, render: ErrorFormat) -> None:
    """Errors on paths under `prefix` in a protocol's own format instead of problem+json: a client of a standard
    (Open311's civic apps) parses that standard's error list, not RFC 9457. Still mapped here, once."""
    app.state.error_formats = {**(getattr(app.state, "error_formats", None) or {}), prefix.rstrip("/"): render}


def _answer(
    request: Request,
    status: int,
    title: str,
    detail: str | None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    """problem+json, or the protocol's own format on its paths (one description per named field, else the detail)."""
    path = request.url.path
    formats: dict[str, ErrorFormat] = getattr(request.app.state, "error_formats", None) or {}
    for prefix, render in formats.items():
        if path == prefix or path.startswith(prefix + "/"):
            named = [f"{e.get('field')}: {e.get('message')}" for e in extra.get("errors") or () if e.get("field")]
            return render(request, status, named or [detail or title], headers)
    return problem_response(status, title, detail, path, headers, **extra)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "body"


def _message(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "invalid"))
    return message.removeprefix("Value error, ")


def _allowed_methods(app: FastAPI, request: Request) -> str:
    """Every method of every route on this path: Starlette names only the first route's when one path has a
    route per method (GET and POST /v1/incidents), and `Allow` must list them all."""
    methods: set[str] = set()
    for route in app.router.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> Response:
        return _answer(request, exc.status, exc.title, exc.detail, exc.headers, **exc.extra)

    @app.exception_handler(DomainError)
    async def _refused(request: Request, exc: DomainError) -> Response:
        # The one place a use case's refusal becomes an answer: routes hold no `try`.
        return _answer(request, exc.status, exc.title, exc.detail or None, exc.headers, **exc.problem_members())

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return _answer(request, 400, "Malformed JSON", "the request body is not valid JSON")
        invalid = [{"field": _field(tuple(e["loc"])), "message": _message(e), "type": e["type"]} for e in errors]
        detail = "; ".join(f"{i['field']}: {i['message']}" for i in invalid)
        return _answer(request, 422, "Invalid request", detail, None, errors=invalid)

    @app.exception_handler(asyncpg.DataError)
    async def _unstorable(request: Request, exc: asyncpg.DataError) -> Response:
        # A value the database cannot hold (e.g. a NUL character in text) is the caller's bad input.
        log.warning("request value rejected by the database", path=request.url.path, error=type(exc).__name__)
        return _answer(request, 422, "Invalid request", f"a value cannot be stored: {exc}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        title = HTTPStatus(exc.status_code).phrase
        detail = None if exc.detail == title else str(exc.detail)
        headers = exc.headers
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": _allowed_methods(app, request)}
        return _answer(request, exc.status_code, title, detail, headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", path=request.url.path)
        return _answer(request, 500, "Internal error", "the error was logged")
