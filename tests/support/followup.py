"""Followup run in-process behind an httpx client."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI

from services.followup.bootstrap import create_app
from services.followup.settings import FollowupSettings

AGENT = {"X-API-Key": "dev-only-agent-key"}


@asynccontextmanager
async def running_followup(
    database_url: str, bootstrap: str, *, clock: Callable[[], datetime] | None = None, **overrides: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    settings = FollowupSettings(
        app_env="test",
        database_url=database_url,
        kafka_bootstrap_servers=bootstrap,
        **{"followup_consumer_group": f"followup-test-{uuid.uuid4().hex[:8]}", "timer_poll_ms": 50, **overrides},
    )
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://followup", timeout=30) as client:
            yield app, client
