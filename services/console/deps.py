"""Typed dependencies of the console's routes: what the composition root put on the app, read in one place."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from jinja2 import Environment

from services.console.backends import Backends
from services.console.settings import ConsoleSettings
from services.console.signing_in import SigningIn
from services.console.views import DirectoryViews
from shared.http.person import PersonTokens
from shared.http.service_app import app_state


async def _correlation_id(request: Request) -> str:
    correlation_id: str = request.state.correlation_id
    return correlation_id


Settings = Annotated[ConsoleSettings, Depends(app_state("settings"))]
Timezone = Annotated[ZoneInfo, Depends(app_state("timezone"))]
Templates = Annotated[Environment, Depends(app_state("templates"))]
SignIns = Annotated[SigningIn | None, Depends(app_state("signing_in"))]
Persons = Annotated[PersonTokens | None, Depends(app_state("persons"))]
BackendsDep = Annotated[Backends, Depends(app_state("backends"))]
Directory = Annotated[DirectoryViews, Depends(app_state("directory_views"))]
CorrelationId = Annotated[str, Depends(_correlation_id)]
