"""Typed dependencies of dispatch's routes: what the composition root put on the app, read in one place."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.dispatch.crews import Crews
from services.dispatch.handlers.context import DispatchDoor
from services.dispatch.settings import DispatchSettings
from services.dispatch.views import DispatchViews
from shared.http.person import PersonTokens
from shared.http.service_app import app_state

Settings = Annotated[DispatchSettings, Depends(app_state("settings"))]
#: The door every use case runs through, built in the lifespan once the pool is open (bootstrap.py).
DoorDep = Annotated[DispatchDoor, Depends(app_state("door"))]
Views = Annotated[DispatchViews, Depends(app_state("views"))]
#: The verifier of persons' tokens; None when no identity provider is configured (machine keys only).
Persons = Annotated[PersonTokens | None, Depends(app_state("persons"))]
CrewList = Annotated[Crews, Depends(app_state("crews"))]
