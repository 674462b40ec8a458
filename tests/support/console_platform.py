"""The four services and the console in-process on the session's Postgres and Kafka, the console calling each
service's own app — what a console test needs to see a person's request go all the way through.

Each service runs with its real lifespan (pool, consumers, outbox relay) under a consumer group of its own that
starts at the topics' current end, so it reads only what the test makes. How persons' tokens are checked is the
caller's choice: a verifier per app (`persons`, e.g. `LocalIssuer().verifier`), or none, and then every service and
the console build the real one from `oidc_issuer` (the session's Keycloak) as they do in production.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from services.dispatch.bootstrap import create_app as dispatch_app
from services.dispatch.consumers import SUBSCRIPTIONS as DISPATCH
from services.dispatch.settings import DispatchSettings
from services.followup.bootstrap import create_app as followup_app
from services.followup.consumers import SUBSCRIPTIONS as FOLLOWUP
from services.followup.settings import FollowupSettings
from services.intake.bootstrap import create_app as intake_app
from services.intake.settings import IntakeSettings
from services.reporting.bootstrap import create_app as reporting_app
from services.reporting.consumers import SUBSCRIPTIONS as REPORTING
from services.reporting.settings import ReportingSettings
from shared.http.person import PersonTokens
from tests.support.apps import running_app
from tests.support.console import running_console
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import start_groups_at_end, wait_until

#: The services the console calls, by the host name its calls go to (http://intake, http://dispatch, ...).
SERVICES = ("dispatch", "followup", "reporting", "intake")


class ServiceRouter(httpx.AsyncBaseTransport):
    """The console's calls, each to its service's app in this process (http://intake, http://dispatch, ...); any
    other host (a real identity provider the console signs people in at) over the network as usual."""

    def __init__(self, apps: dict[str, FastAPI]) -> None:
        self.transports = {name: httpx.ASGITransport(app=app) for name, app in apps.items()}
        self.network = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self.transports.get(request.url.host, self.network)
        return await transport.handle_async_request(request)

    async def aclose(self) -> None:
        await self.network.aclose()


@dataclass
class ConsolePlatform:
    """The running services (`apps`, and `clients` to call each directly) and the console behind `console`."""

    apps: dict[str, FastAPI]
    clients: dict[str, httpx.AsyncClient]
    console_app: FastAPI
    console: httpx.AsyncClient


@asynccontextmanager
async def running_console_platform(
    infra: Infrastructure,
    photo_dir: str,
    *,
    persons: Callable[[], PersonTokens] | None = None,
    identity: dict[str, Any] | None = None,
    console: dict[str, Any] | None = None,
) -> AsyncIterator[ConsolePlatform]:
    """Start dispatch, followup, reporting and intake, then the console calling them.

    `persons`: a factory of the verifier each app (the console too) is handed; None lets each build its own from
    `identity` (settings every service and the console share: `oidc_issuer`, `oidc_audience`). `console`: the
    console's own settings (its OIDC client, its public URL)."""
    db, kafka = infra.database_url, infra.kafka_bootstrap_servers
    groups = {name: f"console-platform-{uuid.uuid4().hex[:8]}-{name}" for name in ("dispatch", "followup", "reporting")}
    for name, subscriptions in (("dispatch", DISPATCH), ("followup", FOLLOWUP), ("reporting", REPORTING)):
        await start_groups_at_end(kafka, subscriptions, groups[name])
    shared = identity or {}
    async with AsyncExitStack() as stack:
        apps: dict[str, FastAPI] = {}
        clients: dict[str, httpx.AsyncClient] = {}
        for name, create, settings, extra in (
            (
                "dispatch",
                dispatch_app,
                DispatchSettings,
                {"dispatch_consumer_group": groups["dispatch"], "dispatch_photo_dir": photo_dir},
            ),
            ("followup", followup_app, FollowupSettings, {"followup_consumer_group": groups["followup"]}),
            ("reporting", reporting_app, ReportingSettings, {"reporting_consumer_group": groups["reporting"]}),
            ("intake", intake_app, IntakeSettings, {}),
        ):
            app, client = await stack.enter_async_context(
                running_app(
                    create,
                    settings,
                    name=name,
                    database_url=db,
                    bootstrap=kafka,
                    create_kwargs={"persons": persons() if persons else None},
                    **shared,
                    **extra,
                )
            )
            apps[name], clients[name] = app, client
        for name in ("dispatch", "followup", "reporting"):
            await wait_until(_kafka_connected(apps[name]), timeout=60)
        http = httpx.AsyncClient(transport=ServiceRouter(apps))
        stack.push_async_callback(http.aclose)
        console_app, console_client = await stack.enter_async_context(
            running_console(
                db,
                persons=persons() if persons else None,
                http=http,
                **shared,
                **(console or {}),
                **_service_urls(apps),
            )
        )
        yield ConsolePlatform(apps, clients, console_app, console_client)


def _kafka_connected(app: FastAPI) -> Callable[[], bool]:
    """Whether `app`'s consumers reached the broker: what a test waits for before it publishes."""
    return lambda: bool(app.state.kafka["kafka"] == "connected")


def _service_urls(apps: dict[str, FastAPI]) -> dict[str, Any]:
    """The console's `<service>_url` settings, each naming the host the in-process router answers for."""
    return {f"{name}_url": f"http://{name}" for name in apps}
