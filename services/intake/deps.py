"""Typed dependencies of intake's routes: what the composition root put on the app, read in one place."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

import asyncpg
from fastapi import Depends, Request


def _pool(request: Request) -> asyncpg.Pool:
    return request.app.state.pool


def _timezone(request: Request) -> ZoneInfo:
    return request.app.state.timezone


def _correlation_id(request: Request) -> str:
    """Set by the request-context middleware from `X-Correlation-ID`, or new."""
    return request.state.correlation_id


Pool = Annotated[asyncpg.Pool, Depends(_pool)]
Timezone = Annotated[ZoneInfo, Depends(_timezone)]
CorrelationId = Annotated[str, Depends(_correlation_id)]
