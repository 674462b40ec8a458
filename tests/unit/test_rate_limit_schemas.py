"""Every service shares its rate limits with its replicas through its own schema's `rate_limit_counts` (issue 25,
`shared.http.rate_counts`): each of the seven apps, built as its `__main__` builds it (the lifespan not started: no
database, no broker), syncs its limits into the schema its migrations create — none counts per process alone, and
none counts into another service's table. The channels status page's two limits are among the ones synced."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI

from operations.migrations import service_migrations
from services.channels.bootstrap import create_app as create_channels
from services.channels.settings import ChannelsSettings
from services.channels.status import limiter
from services.console.bootstrap import create_app as create_console
from services.console.settings import ConsoleSettings
from services.dispatch.bootstrap import create_app as create_dispatch
from services.dispatch.settings import DispatchSettings
from services.followup.bootstrap import create_app as create_followup
from services.followup.settings import FollowupSettings
from services.intake.bootstrap import create_app as create_intake
from services.intake.settings import IntakeSettings
from services.notify.bootstrap import create_app as create_notify
from services.notify.settings import NotifySettings
from services.reporting.bootstrap import create_app as create_reporting
from services.reporting.settings import ReportingSettings

#: Service (= its schema, `operations.migrations`) → how its app is built.
SERVICES: dict[str, tuple[Callable[..., FastAPI], type[Any]]] = {
    "intake": (create_intake, IntakeSettings),
    "dispatch": (create_dispatch, DispatchSettings),
    "followup": (create_followup, FollowupSettings),
    "reporting": (create_reporting, ReportingSettings),
    "notify": (create_notify, NotifySettings),
    "channels": (create_channels, ChannelsSettings),
    "console": (create_console, ConsoleSettings),
}


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_each_service_syncs_its_limits_into_its_own_schema(service: str) -> None:
    create_app, settings_class = SERVICES[service]
    app = create_app(settings_class(app_env="test"))
    assert app.state.rate_counts.schema == service
    assert service in service_migrations(), "the schema `python -m operations.migrations` creates for the service"


def test_the_status_pages_limits_are_synced_with_the_apps_others() -> None:
    app = create_channels(ChannelsSettings(app_env="test"))
    synced = {limit.scope: limit for limit in app.state.rate_counts.limits}
    assert set(synced) >= {limiter.CLIENTS, limiter.REFERENCES}
    assert all(synced[scope].shared for scope in (limiter.CLIENTS, limiter.REFERENCES))
    assert app.state.status_limits.references is synced[limiter.REFERENCES]
