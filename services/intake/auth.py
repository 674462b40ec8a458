"""Channel credentials: each channel has its own API key (X-API-Key) or bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.intake.deps import Settings
from shared.contracts import Channel
from shared.http.auth import PresentedToken, identify


async def authenticated_channel(settings: Settings, token: PresentedToken) -> Channel:
    return identify(token, settings.channel_by_token, "a channel")


ChannelCredential = Annotated[Channel, Depends(authenticated_channel)]
