"""Typed dependencies of intake's routes: what the composition root put on the app, read in one place.

Async on purpose: FastAPI runs a plain `def` dependency in a worker thread, a hop per request for nothing.
"""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

import asyncpg
from fastapi import Depends, Request

from services.intake.settings import IntakeSettings


async def _settings(request: Request) -> IntakeSettings:
    return request.app.state.settings


async def _pool(request: Request) -> asyncpg.Pool:
    return request.app.state.pool


async def _timezone(request: Request) -> ZoneInfo:
    return request.app.state.timezone


async def _correlation_id(request: Request) -> str:
    """Set by the request-context middleware from `X-Correlation-ID`, or new."""
    return request.state.correlation_id


Settings = Annotated[IntakeSettings, Depends(_settings)]
Pool = Annotated[asyncpg.Pool, Depends(_pool)]
Timezone = Annotated[ZoneInfo, Depends(_timezone)]
CorrelationId = Annotated[str, Depends(_correlation_id)]
