"""Typed dependencies of dispatch's routes: what the composition root put on the app, read in one place.

`async def` on purpose: FastAPI runs a plain `def` dependency in its thread pool (see shared/http/auth.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.dispatch.handlers import Dispatcher
from services.dispatch.settings import DispatchSettings
from services.dispatch.views import DispatchViews


async def _settings(request: Request) -> DispatchSettings:
    return request.app.state.settings


async def _dispatcher(request: Request) -> Dispatcher:
    """Built in the lifespan, once the pool is open (bootstrap.py)."""
    return request.app.state.dispatcher


async def _views(request: Request) -> DispatchViews:
    return request.app.state.views


Settings = Annotated[DispatchSettings, Depends(_settings)]
DispatcherDep = Annotated[Dispatcher, Depends(_dispatcher)]
Views = Annotated[DispatchViews, Depends(_views)]
