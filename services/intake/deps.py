"""Typed dependencies of intake's routes: what the composition root put on the app, read in one place."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.intake.handlers.context import IntakeContext
from services.intake.limits import SubmissionLimits
from services.intake.repository import IntakeRepository
from services.intake.settings import IntakeSettings
from shared.handling import Door
from shared.http.person import PersonTokens
from shared.http.service_app import app_state


async def _correlation_id(request: Request) -> str:
    """Set by the request-context middleware from `X-Correlation-ID`, or new (async: no thread hop)."""
    correlation_id: str = request.state.correlation_id
    return correlation_id


Settings = Annotated[IntakeSettings, Depends(app_state("settings"))]
#: The one door every use case runs through (built in the lifespan).
IntakeDoor = Annotated[Door[IntakeRepository, IntakeContext], Depends(app_state("door"))]
#: The verifier of persons' tokens; None when no identity provider is configured (channel keys only).
Persons = Annotated[PersonTokens | None, Depends(app_state("persons"))]
CorrelationId = Annotated[str, Depends(_correlation_id)]
#: Submissions per credential and per customer phone (`limits.py`).
Limits = Annotated[SubmissionLimits, Depends(app_state("submission_limits"))]
