"""Typed dependencies of dispatch's routes: what the composition root put on the app, read in one place."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.dispatch.handlers import Dispatcher
from services.dispatch.settings import DispatchSettings
from services.dispatch.views import DispatchViews
from shared.http.service_app import app_state

Settings = Annotated[DispatchSettings, Depends(app_state("settings"))]
#: Built in the lifespan, once the pool is open (bootstrap.py).
DispatcherDep = Annotated[Dispatcher, Depends(app_state("dispatcher"))]
Views = Annotated[DispatchViews, Depends(app_state("views"))]
