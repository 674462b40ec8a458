"""Intake run in-process (its real lifespan: pool, relay, Kafka consumer) behind an httpx client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from services.intake.bootstrap import create_app
from services.intake.settings import IntakeSettings
from tests.support.apps import running_app


@asynccontextmanager
async def running_intake(
    database_url: str, bootstrap: str, **overrides: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_app(
        create_app, IntakeSettings, name="intake", database_url=database_url, bootstrap=bootstrap, **overrides
    ) as running:
        yield running
