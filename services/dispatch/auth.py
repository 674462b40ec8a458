"""Dispatch credentials: each department's, and supervisors'. What each may do is `Actor.may_handle` (model.py);
reclassification is for supervisors only."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.dispatch.deps import Settings
from services.dispatch.model import Actor
from shared.http.auth import PresentedToken, identify
from shared.http.problems import Problem


async def authenticated_actor(settings: Settings, token: PresentedToken) -> Actor:
    credential = identify(token, settings.credential_by_token, "a department or supervisor")
    return Actor(name=credential.name, department=credential.department, supervisor=credential.role == "supervisor")


async def supervisor(actor: Annotated[Actor, Depends(authenticated_actor)]) -> Actor:
    if not actor.supervisor:
        raise Problem(403, "Forbidden", "only a supervisor may do this")
    return actor


CurrentActor = Annotated[Actor, Depends(authenticated_actor)]
Supervisor = Annotated[Actor, Depends(supervisor)]
