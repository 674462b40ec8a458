"""Composition root of the console: settings, pool, the identity provider's client, the services' APIs, the pages
and their error answers, the security headers, and the directory's seed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.console import api, live, metrics, signin
from services.console.auth import CsrfRejected, NotSignedIn, ScreenForbidden, SignInUnavailable
from services.console.backends import Backends, ServiceRefused, ServiceUnavailable
from services.console.directory import import_files
from services.console.handlers.context import ConsoleContext
from services.console.model import DirectoryRejected
from services.console.oidc import OidcClient, ProviderUnavailable, SignInFailed
from services.console.pages import STATIC, LanguageCookie, PageContext, error_response, sign_in_redirect, templates
from services.console.repository import ConsoleRepository, PostgresConsoleRepository
from services.console.screens import (
    agent,
    cases,
    crew,
    dashboard,
    departments,
    escalations,
    home,
    inbox,
    incidents,
    supervisor,
    work_orders,
)
from services.console.screens import coordination as coordination_screen
from services.console.screens import duty as duty_screen
from services.console.screens import live as live_screen
from services.console.screens import serious as serious_screen
from services.console.screens import triage as triage_screen
from services.console.screens.common import FormInvalid
from services.console.security import SecurityHeaders, clear_sign_in_cookie
from services.console.settings import ConsoleSettings
from services.console.signing_in import SigningIn
from services.console.views import DirectoryViews
from shared.db import transactions
from shared.handling import Door, utc_now
from shared.http.person import PersonTokens
from shared.http.service_app import create_service_app
from shared.logging import get_logger
from shared.observability.service import telemetry
from shared.runtime import close_pool, connect_with_retry, supervised

log = get_logger(__name__)
SERVICE = "console"
REPO_ROOT = Path(__file__).resolve().parents[2]
#: Expired sessions and unanswered sign-ins are swept this often.
HOUSEKEEPING_EVERY_S = 600.0
#: The pages (every path but the JSON API's), whose forms post multipart/form-data.
PAGE_PATHS = r"/(?!v1/).*"
#: Paths answered as JSON problems (the API, operations); everything else is a page.
#: The console's routers: the JSON API, signing in and out, and the screens.
ROUTERS = (
    api.router,
    signin.router,
    *(screen.router for screen in (supervisor, escalations, incidents)),
    *(screen.router for screen in (home, agent, cases, departments, work_orders, crew, inbox, dashboard)),
    duty_screen.router,
    live_screen.router,
    serious_screen.router,
    triage_screen.router,
    coordination_screen.router,
)
_JSON_PREFIXES = ("/v1/", "/healthz", "/readyz", "/metrics", "/docs", "/openapi.json", "/redoc")


def create_app(
    settings: ConsoleSettings,
    *,
    persons: PersonTokens | None = None,
    http: httpx.AsyncClient | None = None,
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    """`persons`: a test's verifier of persons' tokens (else built from OIDC_ISSUER); `http`: the client for the
    identity provider and the services (else one of our own); `clock`: the door's time (tests)."""
    observed = telemetry(SERVICE, settings, metrics.count_committed)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await connect_with_retry(settings)
        client = http or httpx.AsyncClient(follow_redirects=False)
        _compose(app, settings, pool, client, persons or PersonTokens.configured(settings, http=client), clock)
        await _seed_directory(app.state.door, settings)
        stop = asyncio.Event()
        sweeper = asyncio.create_task(supervised("console:housekeeping", _housekeeping(app), stop))
        async with _live_feed(app, settings):
            try:
                yield
            finally:
                stop.set()
                sweeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sweeper
                if http is None:
                    await client.aclose()
                await close_pool(pool)

    async def readiness(request: Request) -> dict[str, object]:
        await request.app.state.pool.fetchval("SELECT 1")
        return {"sign_in": "configured" if request.app.state.signing_in is not None else "no identity provider"}

    app = create_service_app(
        title="Utility complaints — console",
        description="Staff sign-in, the staff directory and rota, and the console's pages for agents, departments "
        "and crews.",
        lifespan=lifespan,
        readiness=readiness,
        max_body_bytes=settings.console_max_body_bytes,
        # The pages' forms post multipart/form-data (every form, not only the photo's): the platform's content-type
        # gate lets JSON, CSV and multipart through, and the JSON API (/v1/...) keeps taking JSON only.
        upload_paths=PAGE_PATHS,
        metrics=observed.metrics,
        tracing=observed.tracing,
        rate_limit_schema="console",  # writes per credential shared by the replicas
    )
    app.state.settings = settings
    app.state.timezone = ZoneInfo(settings.timezone)
    app.state.templates = templates()
    app.add_middleware(LanguageCookie, secure=settings.secure_cookies)
    app.add_middleware(SecurityHeaders, issuer_origin=settings.issuer_origin)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in ROUTERS:
        app.include_router(router)
    _page_errors(app)
    return app


def _compose(
    app: FastAPI,
    settings: ConsoleSettings,
    pool: asyncpg.Pool,
    client: httpx.AsyncClient,
    verifier: PersonTokens | None,
    clock: Callable[[], datetime] | None,
) -> None:
    """The app's collaborators: the door (with the identity provider's client when one is configured), the
    sign-in flows over it, the directory's reads and the services' APIs."""
    oidc = None
    if settings.oidc_issuer and verifier is not None:
        oidc = OidcClient(
            issuer=settings.oidc_issuer,
            client_id=settings.console_oidc_client_id,
            client_secret=settings.console_oidc_client_secret,
            redirect_uri=settings.redirect_uri,
            http=client,
            discovery_url=settings.console_oidc_discovery_url,
        )
    context = ConsoleContext.configured(settings, oidc, verifier)
    door: Door[ConsoleRepository, ConsoleContext] = Door(
        transactions(pool, PostgresConsoleRepository), context, clock=clock or utc_now
    )
    app.state.pool = pool
    app.state.persons = verifier
    app.state.door = door
    app.state.directory_views = DirectoryViews(pool)
    app.state.backends = Backends(
        client, settings.service_urls, timeout_s=settings.console_upstream_timeout_s, on_answer=metrics.count_call
    )
    app.state.signing_in = SigningIn(door, oidc, verifier) if oidc is not None and verifier is not None else None
    if app.state.signing_in is None:
        log.warning("no identity provider configured (OIDC_ISSUER): nobody can sign in to the console")


@asynccontextmanager
async def _live_feed(app: FastAPI, settings: ConsoleSettings) -> AsyncIterator[None]:
    """The live pages' hub and its Kafka feed (`live.py`), while the app runs; off: no `/live` (404)."""
    app.state.live_hub = None
    if not settings.console_live_enabled:
        yield
        return
    hub = app.state.live_hub = live.LiveHub(settings.console_live_max_streams)
    stop = asyncio.Event()
    consumer = live.kafka_consumer(settings.kafka_bootstrap_servers, settings)
    reader = asyncio.create_task(supervised("console:live", lambda s: live.feed(hub, consumer, s), stop))
    restore_signals = live.close_on_exit_signals(hub)
    try:
        yield
    finally:
        restore_signals()
        hub.close_all()
        stop.set()
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(reader, timeout=5)


def _page(request: Request) -> PageContext:
    """The page an error is shown on: the screen's own (with its top bar) when it got that far."""
    found = getattr(request.state, "page", None)
    if isinstance(found, PageContext):
        return found
    return PageContext(request, request.app.state.templates, request.app.state.timezone)


def _is_page(request: Request) -> bool:
    return not request.url.path.startswith(_JSON_PREFIXES)


def _page_errors(app: FastAPI) -> None:
    """Pages answer errors as pages in the person's language; the JSON API keeps its problem+json. Registered
    once here: no route catches."""
    _sign_in_errors(app)
    json_invalid = app.exception_handlers[RequestValidationError]
    json_http = app.exception_handlers[StarletteHTTPException]

    @app.exception_handler(ServiceRefused)
    async def _refused(request: Request, exc: ServiceRefused) -> Response:
        title = {401: "error.token_refused", 403: "error.forbidden", 404: "error.not_found"}.get(
            exc.status, "error.refused"
        )
        return error_response(_page(request), exc.status, title, exc.detail or exc.title, errors=exc.errors)

    @app.exception_handler(ServiceUnavailable)
    async def _unavailable(request: Request, exc: ServiceUnavailable) -> Response:
        page = _page(request)
        name = page.t.label("service", exc.service)
        return error_response(page, 503, "error.service_unavailable", name, detail_lang=page.lang)

    @app.exception_handler(FormInvalid)
    async def _form(request: Request, exc: FormInvalid) -> Response:
        return error_response(_page(request), 422, "error.refused", exc.field)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if not _is_page(request):
            return await json_invalid(request, exc)  # type: ignore[misc,no-any-return]
        return error_response(_page(request), 404, "error.not_found", request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if not _is_page(request) or request.url.path.startswith("/static/"):
            return await json_http(request, exc)  # type: ignore[misc,no-any-return]
        title = "error.not_found" if exc.status_code == 404 else "error.refused"
        return error_response(_page(request), exc.status_code, title)


def _sign_in_errors(app: FastAPI) -> None:
    """Who may be here: signed out (to the sign-in), no or an unreachable identity provider (503), a refused
    sign-in (400), a form without this session's CSRF token or a screen the roles do not open (403)."""

    @app.exception_handler(NotSignedIn)
    async def _signed_out(request: Request, exc: NotSignedIn) -> Response:
        return sign_in_redirect(request)

    @app.exception_handler(SignInUnavailable)
    async def _no_provider(request: Request, exc: SignInUnavailable) -> Response:
        return error_response(_page(request), 503, "error.no_provider")

    @app.exception_handler(ProviderUnavailable)
    async def _provider_down(request: Request, exc: ProviderUnavailable) -> Response:
        log.warning("identity provider unavailable", error=str(exc))
        return error_response(_page(request), 503, "error.provider_unavailable")

    @app.exception_handler(SignInFailed)
    async def _sign_in_refused(request: Request, exc: SignInFailed) -> Response:
        # The provider's answer signs nobody in (state, code or tokens refused): the person may simply try again.
        response = error_response(_page(request), 400, "error.sign_in_failed")
        clear_sign_in_cookie(response, secure=request.app.state.settings.secure_cookies)
        return response

    @app.exception_handler(CsrfRejected)
    async def _csrf(request: Request, exc: CsrfRejected) -> Response:
        return error_response(_page(request), 403, "error.csrf")

    @app.exception_handler(ScreenForbidden)
    async def _screen(request: Request, exc: ScreenForbidden) -> Response:
        return error_response(_page(request), 403, "error.forbidden")


async def _seed_directory(door: Door[ConsoleRepository, ConsoleContext], settings: ConsoleSettings) -> None:
    """The demo city's staff and rota into an empty directory (`make run`); an operator's own is kept."""
    if not settings.console_seed_staff:
        return
    staff = _path(settings.console_seed_staff)
    rota = _path(settings.console_seed_rota) if settings.console_seed_rota else None
    try:
        result = await import_files(door, staff, rota, if_empty=True)
    except DirectoryRejected as exc:
        log.error("staff directory seed refused", file=str(staff), problems=exc.problems)
        return
    if result is not None:
        log.info("staff directory seeded", file=str(staff), staff=result.staff, rota=result.rota)


def _path(value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else REPO_ROOT / path


def _housekeeping(app: FastAPI) -> Callable[[asyncio.Event], Awaitable[None]]:
    async def sweep(stop: asyncio.Event) -> None:
        while not stop.is_set():
            signing_in: SigningIn | None = app.state.signing_in
            if signing_in is not None:
                with contextlib.suppress(OSError):
                    gone = await signing_in.forget_expired()
                    if gone:
                        log.info("expired sessions and sign-ins forgotten", count=gone)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=HOUSEKEEPING_EVERY_S)

    return sweep
