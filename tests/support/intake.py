"""Intake run in-process (its real lifespan: pool, relay, Kafka consumer) behind an httpx client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from services.intake.bootstrap import create_app
from services.intake.settings import IntakeSettings


@asynccontextmanager
async def running_intake(
    database_url: str, bootstrap: str, **overrides: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    settings = IntakeSettings(app_env="test", database_url=database_url, kafka_bootstrap_servers=bootstrap, **overrides)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake", timeout=30) as client:
            yield app, client
