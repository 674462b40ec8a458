"""Typed dependencies of intake's routes: what the composition root put on the app, read in one place."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

import asyncpg
from fastapi import Depends, Request

from services.intake.settings import IntakeSettings
from shared.http.person import PersonTokens
from shared.http.service_app import app_state


async def _correlation_id(request: Request) -> str:
    """Set by the request-context middleware from `X-Correlation-ID`, or new (async: no thread hop)."""
    return request.state.correlation_id


Settings = Annotated[IntakeSettings, Depends(app_state("settings"))]
Pool = Annotated[asyncpg.Pool, Depends(app_state("pool"))]
Timezone = Annotated[ZoneInfo, Depends(app_state("timezone"))]
#: The verifier of persons' tokens; None when no identity provider is configured (channel keys only).
Persons = Annotated[PersonTokens | None, Depends(app_state("persons"))]
CorrelationId = Annotated[str, Depends(_correlation_id)]
