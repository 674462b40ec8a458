"""Typed dependencies of reporting's routes: what the composition root put on the app, read in one place."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.reporting.settings import ReportingSettings
from services.reporting.views import ReportViews


async def _settings(request: Request) -> ReportingSettings:
    return request.app.state.settings


async def _reports(request: Request) -> ReportViews:
    """Built by `bootstrap` once the pool is open."""
    return request.app.state.reports


Settings = Annotated[ReportingSettings, Depends(_settings)]
Reports = Annotated[ReportViews, Depends(_reports)]
