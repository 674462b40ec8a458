"""Who may use followup's API: callback agents and supervisors, each with an API key or bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.followup.deps import Settings
from services.followup.settings import AgentCredential
from shared.http.auth import PresentedToken, identify


async def authenticated_agent(token: PresentedToken, settings: Settings) -> AgentCredential:
    return identify(token, settings.credential_by_token, "a callback agent or supervisor")


Agent = Annotated[AgentCredential, Depends(authenticated_agent)]
