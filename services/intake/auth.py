"""Channel credentials: each channel has its own API key (X-API-Key) or bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from shared.contracts import Channel
from shared.credentials import match_token
from shared.http.problems import Problem

_bearer = HTTPBearer(auto_error=False, description="Channel bearer token")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="Channel API key")


def authenticated_channel(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
) -> Channel:
    """The channel the presented credential belongs to; 401 when none or unknown."""
    presented = bearer.credentials if bearer is not None else api_key
    if not presented:
        raise Problem(
            401,
            "Unauthorized",
            "a channel credential is required (X-API-Key or Bearer token)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    match = match_token(presented, request.app.state.settings.channel_by_token)
    if match is None:
        raise Problem(401, "Unauthorized", "unknown credential", headers={"WWW-Authenticate": "Bearer"})
    return match


ChannelCredential = Annotated[Channel, Depends(authenticated_channel)]
