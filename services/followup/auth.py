"""Who may use followup's API: callback agents and supervisors, each with an API key or bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.followup.deps import Settings
from services.followup.settings import AgentCredential
from shared.http.auth import PresentedToken, identify
from shared.http.problems import Problem


async def authenticated_agent(token: PresentedToken, settings: Settings) -> AgentCredential:
    return identify(token, settings.credential_by_token, "a callback agent or supervisor")


Agent = Annotated[AgentCredential, Depends(authenticated_agent)]


async def authenticated_supervisor(who: Agent) -> AgentCredential:
    """Supervisors only: the duty manager's acknowledgement is a manager's act, not a callback agent's."""
    if who.role != "supervisor":
        raise Problem(403, "Forbidden", "only a supervisor may do this")
    return who


Supervisor = Annotated[AgentCredential, Depends(authenticated_supervisor)]
