"""Typed FastAPI dependencies of followup's routes: the app's settings, handlers and views.

The composition root (`bootstrap.py`) puts them on the app; routes only name these aliases.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.followup.handlers import FollowupHandlers
from services.followup.settings import FollowupSettings
from services.followup.views import FollowupViews


# `async def` on purpose: FastAPI runs a plain `def` dependency in its thread pool.
async def _settings(request: Request) -> FollowupSettings:
    return request.app.state.settings


async def _handlers(request: Request) -> FollowupHandlers:
    return request.app.state.handlers


async def _views(request: Request) -> FollowupViews:
    return request.app.state.views


Settings = Annotated[FollowupSettings, Depends(_settings)]
Handlers = Annotated[FollowupHandlers, Depends(_handlers)]
Views = Annotated[FollowupViews, Depends(_views)]
