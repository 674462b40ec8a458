"""Who calls: a channel system with its own API key (X-API-Key or bearer), or a signed-in member of staff with
their access token (an agent on the phone or at the counter). What each may do is `access.py`'s."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.intake.deps import Persons, Settings
from shared.contracts import Channel
from shared.http.auth import PresentedToken, identify_caller
from shared.http.person import Person


async def authenticated_caller(settings: Settings, token: PresentedToken, persons: Persons) -> Channel | Person:
    return await identify_caller(token, settings.channel_by_token, "a channel or staff", persons)


Caller = Annotated[Channel | Person, Depends(authenticated_caller)]
