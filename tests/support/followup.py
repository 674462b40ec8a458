"""Followup run in-process behind an httpx client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI

from services.followup.bootstrap import create_app
from services.followup.settings import FollowupSettings
from shared.http.person import PersonTokens
from tests.support.apps import running_app

AGENT = {"X-API-Key": "dev-only-agent-key"}


@asynccontextmanager
async def running_followup(
    database_url: str,
    bootstrap: str,
    *,
    clock: Callable[[], datetime] | None = None,
    persons: PersonTokens | None = None,
    **overrides: Any,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_app(
        create_app,
        FollowupSettings,
        name="followup",
        database_url=database_url,
        bootstrap=bootstrap,
        group_setting="followup_consumer_group",
        create_kwargs={"clock": clock, "persons": persons},
        **{"timer_poll_ms": 50, **overrides},
    ) as running:
        yield running
