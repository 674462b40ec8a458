"""Typed FastAPI dependencies of channels' routes (the composition root, `bootstrap.py`, puts them on the app;
no route reaches into `app.state` itself), and what a background worker gets (`Running`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends

from services.channels.handlers.context import ChannelsContext
from services.channels.repository import ChannelsRepository
from services.channels.settings import ChannelsSettings
from shared.handling import Door as SharedDoor
from shared.http.person import PersonTokens
from shared.http.service_app import app_state
from shared.runtime import Worker

ChannelsDoor = SharedDoor[ChannelsRepository, ChannelsContext]

Settings = Annotated[ChannelsSettings, Depends(app_state("settings"))]
#: The one door every use case goes through (`handlers/`): `await door.run(use_case, command)`.
Door = Annotated[ChannelsDoor, Depends(app_state("door"))]
#: The verifier of staff's tokens; None when no identity provider is configured (machine keys only).
Persons = Annotated[PersonTokens | None, Depends(app_state("persons"))]
#: The service's clock (tests set it).
Clock = Annotated[Callable[[], datetime], Depends(app_state("clock"))]


@dataclass(frozen=True)
class Running:
    """What a background worker (`workers.py`) may use: the settings, the door (its use cases' only way to the
    database), the clock."""

    settings: ChannelsSettings
    door: ChannelsDoor
    clock: Callable[[], datetime]


#: A worker's factory: the worker, or None when its area is not configured.
WorkerFactory = Callable[[Running], Worker | None]
