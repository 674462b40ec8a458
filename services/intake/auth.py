"""Channel credentials: each channel has its own API key (X-API-Key) or bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from shared.contracts import Channel
from shared.http.auth import PresentedToken, identify


async def authenticated_channel(request: Request, token: PresentedToken) -> Channel:
    return identify(token, request.app.state.settings.channel_by_token, "a channel")


ChannelCredential = Annotated[Channel, Depends(authenticated_channel)]
