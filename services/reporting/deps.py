"""Typed dependencies of reporting's routes: what the composition root put on the app, read in one place."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.reporting.repository.access_log import ReadAccessLog
from services.reporting.settings import ReportingSettings
from services.reporting.views import ReportViews
from shared.handling import Door
from shared.http.person import PersonTokens
from shared.http.service_app import app_state

Settings = Annotated[ReportingSettings, Depends(app_state("settings"))]
#: Built by `bootstrap` once the pool is open.
Reports = Annotated[ReportViews, Depends(app_state("reports"))]
#: The verifier of staff's tokens; None when no identity provider is configured (API keys only).
Persons = Annotated[PersonTokens | None, Depends(app_state("persons"))]
#: Records who read personal data (`handlers.access`), in its own transaction, before the answer goes out.
AccessLog = Annotated[Door[ReadAccessLog, None], Depends(app_state("access_log"))]
