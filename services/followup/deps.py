"""Typed FastAPI dependencies of followup's routes: the app's settings, door and views.

The composition root (`bootstrap.py`) puts them on the app; routes only name these aliases.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.followup.handlers.context import FollowupDoor
from services.followup.repository.contact_reads import ContactReadLog
from services.followup.settings import FollowupSettings
from services.followup.views import FollowupViews
from shared.handling import Door as UseCaseDoor
from shared.http.person import PersonTokens
from shared.http.service_app import app_state

Settings = Annotated[FollowupSettings, Depends(app_state("settings"))]
#: The one door: a route runs its use case through it (`await door.run(use_case, command)`).
Door = Annotated[FollowupDoor, Depends(app_state("door"))]
Views = Annotated[FollowupViews, Depends(app_state("views"))]
#: Records who was shown whose contact (`handlers.contact_reads`), in its own transaction, before the answer.
ContactReads = Annotated[UseCaseDoor[ContactReadLog, None], Depends(app_state("contact_reads"))]
#: The verifier of staff's tokens; None when no identity provider is configured (API keys only).
Persons = Annotated[PersonTokens | None, Depends(app_state("persons"))]
