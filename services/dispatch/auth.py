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
    return Actor(
        name=credential.name,
        department=credential.department,
        supervisor=credential.role == "supervisor",
        outage_system=credential.role == "outage_system",
    )


async def supervisor(actor: Annotated[Actor, Depends(authenticated_actor)]) -> Actor:
    if not actor.supervisor:
        raise Problem(403, "Forbidden", "only a supervisor may do this")
    return actor


CurrentActor = Annotated[Actor, Depends(authenticated_actor)]
Supervisor = Annotated[Actor, Depends(supervisor)]


async def outage_announcer(actor: Annotated[Actor, Depends(authenticated_actor)]) -> Actor:
    """Supervisors and the utility's outage system declare and update outage notices."""
    if not (actor.supervisor or actor.outage_system):
        raise Problem(403, "Forbidden", "only a supervisor or the outage system may announce outages")
    return actor


async def incident_reader(actor: Annotated[Actor, Depends(authenticated_actor)]) -> Actor:
    """Supervisors and every department's staff see incidents and outages (a storm concerns them all)."""
    if not (actor.supervisor or actor.department is not None):
        raise Problem(403, "Forbidden", "only supervisors and departments read incidents")
    return actor


async def staff(actor: Annotated[Actor, Depends(authenticated_actor)]) -> Actor:
    """Supervisors and every department's staff read a case: its owner may work in any of them."""
    if not (actor.supervisor or actor.department is not None):
        raise Problem(403, "Forbidden", "only supervisors and departments read cases")
    return actor


OutageAnnouncer = Annotated[Actor, Depends(outage_announcer)]
IncidentReader = Annotated[Actor, Depends(incident_reader)]
Staff = Annotated[Actor, Depends(staff)]
