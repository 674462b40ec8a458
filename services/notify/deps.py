"""Typed FastAPI dependencies of notify's routes; the composition root (`bootstrap.py`) puts them on the app."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.notify.door import NotifyDoor
from services.notify.providers.catalog import Catalog
from services.notify.settings import NotifySettings
from services.notify.views import NotifyViews
from shared.http.person import PersonTokens
from shared.http.service_app import app_state

Settings = Annotated[NotifySettings, Depends(app_state("settings"))]
#: The one door every use case goes through (`handlers/`).
Door = Annotated[NotifyDoor, Depends(app_state("door"))]
Views = Annotated[NotifyViews, Depends(app_state("views"))]
Providers = Annotated[Catalog, Depends(app_state("catalog"))]
#: The verifier of staff's tokens; None when no identity provider is configured (machine keys only).
Persons = Annotated[PersonTokens | None, Depends(app_state("persons"))]
